"""`hapair lab demo --bgp`: N active nodes behind one VIP, told unattended.

The BGP lab comes up (`--nodes`, `--health`) and the client sends requests through the router, a new
connection each (lab/load.py), while the demo prints, every second, how many each node answered: the
router's ECMP spreads them over every node. Node 2's proxy is killed: its next-hop leaves the router and
its share moves to the others; it comes back (restarted by hapair node under `--health native`, else by
the demo, as systemd would) and gets its share again. Then node N's cable is pulled (BFD tells the
router) and plugged back. A step passes when, in its settled window, every request was answered and by
the nodes expected (never by the failed one while it is withdrawn). The lab is removed at the end, also
on Ctrl-C or SIGTERM; exit status 0 only if every step went as expected."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from . import bgp, faults, lab, load, network
from .errors import LabError
from .processes import poll, told_to_the_end
from .state import LabState

WORKERS = 8
READY_TIMEOUT_S = 30
STEP_TIMEOUT_S = 15
STEADY_S = 2.0
MARGIN_S = 0.2  # a route change seen by polling: requests this close to it are not judged


@dataclass
class Step:
    """What the client saw during one step, and what the step expected of its settled window."""

    title: str
    outcomes: list[load.Outcome]
    window: tuple[float, float]
    expected: set[str]
    reached: bool

    def settled(self) -> list[load.Outcome]:
        start, end = self.window
        return [o for o in self.outcomes if start <= o.started and o.ended <= end]

    @property
    def passed(self) -> bool:
        settled = self.settled()
        served = {o.served_by for o in settled}
        return self.reached and bool(settled) and None not in served and served == self.expected

    def served(self) -> str:
        counts = Counter(_node_of(o.served_by) if o.served_by else "failed" for o in self.outcomes)
        return ", ".join(f"{key}: {counts[key]}" for key in sorted(counts))


def _node_of(address: str) -> str:
    return f"node {int(address.rsplit('.', 1)[1]) - 10}"


class BgpDemo:
    def __init__(self, name: str, count: int, layer: int, health: str, say: Callable[[str], None]) -> None:
        self.name = name
        self.count = count
        self.layer = layer
        self.health = health
        self.say = say
        self.state: LabState | None = None
        self.client: load.Background | None = None
        self._ticked = 0
        self._next_tick = 0.0

    def run(self) -> int:
        return told_to_the_end(self._story, self._tear_down, self.say)

    @property
    def addresses(self) -> list[str]:
        return [bgp.node_address(n) for n in range(1, self.count + 1)]

    def _story(self) -> int:
        self.say(
            f"hapair lab demo --bgp: {self.count} active nodes behind the VIP {bgp.VIP}, over BGP and ECMP"
        )
        self.state = state = bgp.up(
            self.name, self.count, self.layer, lambda line: self.say(f"  {line}"), health=self.health
        )
        if not self._wait(lambda: self._hops() == self.addresses, READY_TIMEOUT_S):
            raise LabError(f"the router did not get a next-hop per node in time: {self._hops()}")
        self._show_status()
        self.say(
            f"the client sends http://{bgp.VIP}:8080/test.php, a new connection each ({WORKERS} at a time); "
            "each second, the requests each node answered:"
        )
        self.client = load.Background(state.layout.namespace("client"), bgp.VIP, 8080, WORKERS).start()
        self._next_tick = time.monotonic() + 1.0
        every = set(self.addresses)
        last = self.count
        steps = [
            self._steady("all nodes announced", every),
            *self._fail_and_return(2, "proxy-kill", "its proxy killed (SIGKILL of its master and workers)"),
            *self._fail_and_return(last, "link", "its cable pulled"),
        ]
        self.client.finish()
        self.say("what the client saw, per step:")
        for line in _summary(steps):
            self.say(line)
        passed = all(step.passed for step in steps)
        self.say("demo: every step went as expected" if passed else "demo: FAILED")
        return 0 if passed else 1

    def _steady(self, title: str, expected: set[str]) -> Step:
        self.say(f"== {title}")
        first, started = self._mark()
        self._wait(lambda: False, STEADY_S)
        return Step(title, self._since(first), (started, time.monotonic()), expected, True)

    def _fail_and_return(self, number: int, how: str, what: str) -> list[Step]:
        assert self.state is not None
        state = self.state
        address = bgp.node_address(number)
        others = set(self.addresses) - {address}
        self.say(f"== node {number}: {what}")
        first, _ = self._mark()
        self.say(f"  {faults.fail(state, number, how)}")
        gone = self._wait(lambda: address not in self._hops(), STEP_TIMEOUT_S)
        withdrawn = time.monotonic()
        self.say(f"  router: {bgp.VIP}/32 via {', '.join(self._hops())}")
        native_return = how == "proxy-kill" and state.node(number).native
        if native_return:
            self._wait(lambda: address in self._hops(), STEP_TIMEOUT_S)
        else:  # the clients whose request was lost on the way to it wait for their timeout first
            self._wait(lambda: False, STEADY_S + load.TIMEOUT_S)
        back_seen = time.monotonic()
        failed = Step(
            f"node {number} withdrawn ({how})",
            self._since(first),
            (withdrawn + MARGIN_S, back_seen - MARGIN_S),
            others,
            gone,
        )
        first, _ = self._mark()
        if native_return:
            self.say(f"== node {number}: its proxy restarted by hapair node, announced again")
        else:
            self.say(f"== node {number}: healed")
            self.say(f"  {faults.heal(state, number)}")
        back = self._wait(lambda: self._hops() == self.addresses, STEP_TIMEOUT_S)
        returned = time.monotonic()
        self._wait(lambda: False, STEADY_S)
        state.node(number).fault = None
        state.save()
        again = Step(
            f"node {number} back",
            self._since(first),
            (returned + MARGIN_S, time.monotonic()),
            set(self.addresses),
            back,
        )
        self._show_status()
        return [failed, again]

    # ----- the client's answers

    def _mark(self) -> tuple[int, float]:
        assert self.client is not None
        return len(self.client.outcomes), time.monotonic()

    def _since(self, first: int) -> list[load.Outcome]:
        assert self.client is not None
        return list(self.client.outcomes[first:])

    def _tick(self) -> None:
        """Once a second: the requests answered since the last tick, per node, and those that failed."""
        if self.client is None or time.monotonic() < self._next_tick:
            return
        self._next_tick = time.monotonic() + 1.0
        outcomes = self.client.outcomes[self._ticked :]
        self._ticked += len(outcomes)
        counts = Counter(o.served_by for o in outcomes)
        cells = [f"{_node_of(a)}: {counts.get(a, 0):3d}" for a in self.addresses]
        stamp = time.strftime("%H:%M:%S")
        self.say(f"  {stamp}  {'  '.join(cells)}  failed: {counts.get(None, 0)}")

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        return poll(condition, timeout, self._tick)

    def _hops(self) -> list[str]:
        assert self.state is not None
        return network.nexthops(self.state.layout.namespace("router"), bgp.VIP)

    def _show_status(self) -> None:
        assert self.state is not None
        table = bgp.render(*bgp.gather(self.state))
        self.say("\n".join(f"  | {line}" for line in table.splitlines()))

    def _tear_down(self) -> None:
        if self.client is not None:
            self.client.finish()
        if self.state is not None:
            lab.down_state(self.state)
            layout = self.state.layout
            self.say(f"lab removed (namespaces {layout.namespace('*')}, processes, {layout.directory})")


def _summary(steps: list[Step]) -> list[str]:
    width = max(len(s.title) for s in steps)
    served = max(len("answered"), *(len(s.served()) for s in steps))
    lines = [f"  {'step'.ljust(width)}  {'answered'.ljust(served)}  result"]
    for step in steps:
        nodes = ", ".join(sorted(_node_of(a) for a in step.expected))
        verdict = "as expected" if step.passed else f"NOT as expected (settled: only {nodes}, all answered)"
        lines.append(f"  {step.title.ljust(width)}  {step.served().ljust(served)}  {verdict}")
    return lines


def run_bgp_demo(name: str, count: int, layer: int, health: str, say: Callable[[str], None]) -> int:
    return BgpDemo(name, count, layer, health, say).run()
