"""`hapair lab demo`: the seed's "Test" and "Simulate a failure" sections, unattended.

The lab comes up (its own name, `demo`), node 1 becomes master; the client polls the VIP every 0.1 s (the
seed's curl loop runs every 1 s) and prints one line per answer with the node that served it. Node 1's
VRRP daemon is stopped (SIGTERM, the seed's `systemctl stop keepalived`) and node 2 takes over; it is
started again and node 1 takes the VIP back. Each step ends with the longest outage the client saw; the
lab is removed at the end, also on Ctrl-C or SIGTERM. Exit status 0 only if every step went as expected."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import faults, lab, network, status
from .client import Answer, ClientLoop, ask, longest_outage
from .errors import LabError
from .layout import VIP, node_role
from .nodes import Node
from .processes import POLL_S, poll, told_to_the_end
from .state import LabState

READY_TIMEOUT_S = 20
STEP_TIMEOUT_S = 10
STEADY_S = 2.0
SETTLE_S = 1.5
LOG_KEYWORDS = ("STATE", "VRRP_Script", "Stopp", "priority")


@dataclass
class StepResult:
    """What the client saw during one step, and whether the step went as expected."""

    title: str
    expected_node: int
    answers: list[Answer]
    passed: bool

    @property
    def outage(self) -> float:
        return longest_outage(self.answers)

    def served(self) -> str:
        counts: dict[str, int] = {}
        for answer in self.answers:
            key = f"node {answer.node}" if answer.ok else "no answer"
            counts[key] = counts.get(key, 0) + 1
        return ", ".join(f"{key}: {count}" for key, count in sorted(counts.items())) or "-"


def answer_line(answer: Answer) -> str:
    stamp = answer.wall.strftime("%H:%M:%S.%f")[:-3]
    if answer.ok:
        return f"  {stamp}  answered by node {answer.node}"
    return f"  {stamp}  no answer ({answer.error})"


def summary(results: list[StepResult]) -> list[str]:
    width = max(len(r.title) for r in results)
    served = max(len("served by"), *(len(r.served()) for r in results))
    lines = [f"  {'step'.ljust(width)}  {'served by'.ljust(served)}  longest outage  result"]
    for r in results:
        verdict = "as expected" if r.passed else f"NOT as expected (node {r.expected_node} should serve)"
        lines.append(f"  {r.title.ljust(width)}  {r.served().ljust(served)}  {r.outage:>12.3f} s  {verdict}")
    return lines


class LogFollower:
    """New lines of a node's VRRP log, those about its state only."""

    def __init__(self, number: int, path: Path) -> None:
        self.number = number
        self.path = path
        self.offset = 0

    def new_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        lines = complete.decode(errors="replace").splitlines()
        return [line.split(": ", 1)[-1] for line in lines if any(k in line for k in LOG_KEYWORDS)]


class Demo:
    """One run of the story."""

    def __init__(self, options: lab.LabOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._say = say
        self.state: LabState | None = None
        self.followers: list[LogFollower] = []
        self.client: ClientLoop | None = None

    def say(self, line: str) -> None:
        with self._lock:
            self._say(line)

    def run(self) -> int:
        return told_to_the_end(self._story, self._tear_down, self.say)

    def _story(self) -> int:
        self.say(f"hapair lab demo: the seed's keepalived + nginx pair, VIP {VIP}, in network namespaces")
        self.state = lab.up(self.options, lambda line: self.say(f"  {line}"))
        state = self.state
        self.followers = [LogFollower(n, Node(state, n).logs / "vrrp.log") for n in sorted(state.nodes)]
        if not self._wait(self._ready, READY_TIMEOUT_S):
            raise LabError(
                "node 1 did not become master with the VIP, and node 2 backup, in time (see the logs)"
            )
        self._show_status()
        self.say(f"the client asks http://{VIP}:8080/test.php every 0.1 s (the seed's curl loop: every 1 s)")
        self.client = ClientLoop(
            state.layout.namespace("client"), lambda answer: self.say(answer_line(answer))
        )
        self.client.start()
        node1 = Node(state, 1)
        vrrp = "keepalived" if node1.record.vrrp_program == "keepalived" else "hapair vrrp"
        if node1.record.native:
            vrrp = "hapair node"
        results = [
            self._step("both nodes up", 1, None, lambda: True, STEADY_S),
            self._step(f"node 1's {vrrp} stopped (SIGTERM)", 2, node1.stop_vrrp, lambda: self._holder() == 2),
            self._step(f"node 1's {vrrp} started again", 1, node1.start_vrrp, lambda: self._holder() == 1),
            *self._proxy_steps(node1),
        ]
        self.client.stop()
        self.say("longest outage seen by the client, per step:")
        for line in summary(results):
            self.say(line)
        passed = all(r.passed for r in results)
        self.say("demo: every step went as expected" if passed else "demo: FAILED")
        return 0 if passed else 1

    def _proxy_steps(self, node1: Node) -> list[StepResult]:
        """Node 1's proxy killed (master and workers, SIGKILL), then back: under `hapair node` the node
        restarts it itself; otherwise the demo starts it again, as systemd would."""
        kill = self._step(
            "node 1's proxy killed (SIGKILL of its master and workers)",
            2,
            lambda: faults.fail(node1.state, 1, "proxy-kill"),
            lambda: self._holder() == 2,
        )
        if node1.record.native:
            back = self._step(
                "node 1's proxy restarted by hapair node", 1, None, lambda: self._holder() == 1, STEADY_S
            )
        else:
            back = self._step(
                "node 1's proxy started again",
                1,
                lambda: faults.heal(node1.state, 1),
                lambda: self._holder() == 1,
            )
        node1.record.fault = None
        node1.state.save()
        return [kill, back]

    def _step(
        self,
        title: str,
        expected: int,
        action: Callable[[], None] | None,
        until: Callable[[], bool],
        settle: float = SETTLE_S,
    ) -> StepResult:
        assert self.client is not None
        self.say(f"== {title}")
        first = len(self.client.answers)
        if action is not None:
            action()
        reached = self._wait(lambda: until() and self._last_served() == expected, STEP_TIMEOUT_S)
        settled_from = len(self.client.answers)
        self._follow_logs(settle)
        self._show_status()
        answers = self.client.since(first)
        settled = self.client.since(settled_from)
        passed = reached and bool(settled) and all(a.ok and a.node == expected for a in settled)
        return StepResult(title, expected, answers, passed)

    def _show_status(self) -> None:
        assert self.state is not None
        table = status.render(status.gather(self.state))
        self.say("\n".join(f"  | {line}" for line in table.splitlines()))

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Poll `condition`, printing new state lines of the nodes' logs meanwhile; whether it held."""
        return poll(condition, timeout, self._print_logs)

    def _follow_logs(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._print_logs()
            time.sleep(POLL_S)

    def _print_logs(self) -> None:
        for follower in self.followers:
            for line in follower.new_lines():
                self.say(f"  node {follower.number} log: {line}")

    def _ready(self) -> bool:
        """Node 1 master with the VIP, serving the client; node 2 backup."""
        assert self.state is not None
        node2_log = Node(self.state, 2).logs / "vrrp.log"
        backup = "Entering BACKUP STATE" in node2_log.read_text(errors="replace")
        return backup and self._holder() == 1 and self._served_by_vip() == 1

    def _holder(self) -> int | None:
        """The node holding the VIP (None: neither, or both)."""
        assert self.state is not None
        holders = [
            n
            for n in sorted(self.state.nodes)
            if VIP in network.addresses(self.state.layout.namespace(node_role(n)))
        ]
        return holders[0] if len(holders) == 1 else None

    def _served_by_vip(self) -> int | None:
        assert self.state is not None
        answer = network.run_in(self.state.layout.namespace("client"), ask)
        return answer.node if answer.ok else None

    def _last_served(self) -> int | None:
        assert self.client is not None
        answers = self.client.answers
        return answers[-1].node if answers and answers[-1].ok else None

    def _tear_down(self) -> None:
        if self.client is not None:
            self.client.stop()
        if self.state is not None:
            lab.down_state(self.state)
            layout = self.state.layout
            self.say(f"lab removed (namespaces {layout.namespace('*')}, processes, {layout.directory})")


def run_demo(options: lab.LabOptions, say: Callable[[str], None]) -> int:
    return Demo(options, say).run()
