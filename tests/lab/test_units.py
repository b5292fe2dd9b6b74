"""The lab's pure parts: outage arithmetic, the test page and who served it, the status table, names,
the state file, the generated nginx.conf, the root check."""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import pytest

from hapair.lab import backend
from hapair.lab.backend import page
from hapair.lab.client import Answer, longest_outage, served_by
from hapair.lab.configs import SEED_FILES, export_seed, nginx_files, nginx_main
from hapair.lab.demo import StepResult, answer_line, summary
from hapair.lab.errors import LabError
from hapair.lab.lab import check_requirements
from hapair.lab.layout import Layout
from hapair.lab.processes import ProcessId
from hapair.lab.state import LabState, NodeState
from hapair.lab.status import NodeStatus, render

WALL = datetime(2026, 11, 26, 7, 0, 0, 123456)


def answer(sent: float, node: int | None, took: float = 0.01) -> Answer:
    return Answer(sent, sent + took, WALL, node, None if node else "timed out")


def test_no_failure_is_no_outage() -> None:
    assert longest_outage([answer(t / 10, 1) for t in range(10)]) == 0.0


def test_outage_runs_from_the_first_failed_request_to_the_next_answered_one() -> None:
    answers = [answer(0.0, 1), answer(0.1, None, took=1.0), answer(0.2, None, took=1.0), answer(0.3, 2)]
    assert longest_outage(answers) == pytest.approx(0.3 - 0.1)


def test_the_longest_of_several_outages_counts() -> None:
    answers = [answer(0.0, None), answer(0.1, 1), answer(0.2, None), answer(0.3, None), answer(0.4, None)]
    answers += [answer(0.5, 2)]
    assert longest_outage(answers) == pytest.approx(0.5 - 0.2)


def test_an_outage_still_going_at_the_end_counts_to_its_last_failure() -> None:
    assert longest_outage([answer(0.0, 1), answer(0.1, None, took=1.0), answer(0.2, None, took=1.0)]) == (
        pytest.approx(1.2 - 0.1)
    )


def test_a_node_change_is_not_an_outage() -> None:
    assert longest_outage([answer(0.0, 1), answer(0.1, 2), answer(0.2, 1)]) == 0.0


class _Connection:
    """A kept client connection to the test page: its requests, and each write the handler makes."""

    def __init__(self, requests: bytes) -> None:
        self.requests = requests
        self.writes: list[bytes] = []

    def makefile(self, mode: str, buffering: int) -> io.IOBase:
        if mode == "rb":
            return io.BufferedReader(io.BytesIO(self.requests))
        return io.BufferedWriter(_Recorder(self.writes))

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def getsockname(self) -> tuple[str, int]:
        return ("10.101.1.104", 8080)

    def settimeout(self, timeout: float | None) -> None:
        pass


class _Recorder(io.RawIOBase):
    def __init__(self, writes: list[bytes]) -> None:
        self.writes = writes

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(data))
        return len(data)


def test_the_test_page_answers_each_request_of_a_kept_connection_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Written in two, an answer's body waits for the ACK of its head (Nagle), which the proxy's side of a
    kept connection delays by 40 ms: 25 requests a second on each of the lab's upstream connections."""
    request = b"GET /test.php HTTP/1.1\r\nHost: web\r\n\r\n"
    connection = _Connection(request * 2)
    monkeypatch.setattr(backend.TestPage, "log_message", lambda *args: None)
    backend.TestPage(connection, ("10.101.1.11", 40312), object())  # type: ignore[arg-type]
    assert len(connection.writes) == 2
    assert all(w.startswith(b"HTTP/1.1 200 ") and w.endswith(b"\n") for w in connection.writes)
    assert all(b"Client: 10.101.1.11:40312\n" in w for w in connection.writes)


def test_the_test_page_names_the_node_that_proxied_the_request() -> None:
    text = page(("10.101.1.12", 40312), ("10.101.1.104", 8080), "10.101.1.100", WALL)
    assert text.splitlines()[:4] == [
        "Hostname: webserver",
        "Client: 10.101.1.12:40312",
        "Server: 10.101.1.104:8080",
        "X-Forwarded-For: 10.101.1.100",
    ]
    assert served_by(text) == 2
    assert served_by(page(("10.101.1.100", 5000), ("10.101.1.104", 8080), None, WALL)) is None
    assert served_by("no page at all") is None


def test_answer_lines_give_the_time_and_the_node() -> None:
    assert answer_line(answer(0.0, 2)) == "  07:00:00.123  answered by node 2"
    assert answer_line(answer(0.0, None)) == "  07:00:00.123  no answer (timed out)"


def test_the_summary_gives_each_steps_longest_outage_and_verdict() -> None:
    steps = [
        StepResult("steady", 1, [answer(0.0, 1), answer(0.1, 1)], passed=True),
        StepResult(
            "takeover", 2, [answer(0.0, 1), answer(0.1, None, took=1.0), answer(0.2, 2)], passed=False
        ),
    ]
    lines = summary(steps)
    assert lines[1].split() == ["steady", "node", "1:", "2", "0.000", "s", "as", "expected"]
    assert "no answer: 1, node 1: 1, node 2: 1" in lines[2]
    assert "0.100 s  NOT as expected (node 2 should serve)" in lines[2]


def test_the_status_table_is_aligned() -> None:
    rows = [
        NodeStatus(
            1,
            "10.101.1.11",
            "hapair node",
            "MASTER",
            255,
            ("10.101.1.10",),
            "(its child)",
            "yes",
            "proxy:up proxy_serving:up backends:down",
            None,
        ),
        NodeStatus(
            2,
            "10.101.1.12",
            "keepalived",
            "stopped",
            None,
            (),
            "nginx",
            "no (connection refused)",
            "check_nginx.sh",
            "stop",
        ),
    ]
    lines = [line.split("  ") for line in render(rows).splitlines()]
    assert [[cell.strip() for cell in line if cell.strip()] for line in lines] == [
        ["node", "address", "vrrp", "state", "priority", "VIP", "proxy", "proxy answers", "health", "fault"],
        [
            "1",
            "10.101.1.11",
            "hapair node",
            "MASTER",
            "255",
            "10.101.1.10",
            "(its child)",
            "yes",
            "proxy:up proxy_serving:up backends:down",
            "-",
        ],
        [
            "2",
            "10.101.1.12",
            "keepalived",
            "stopped",
            "-",
            "-",
            "nginx",
            "no (connection refused)",
            "check_nginx.sh",
            "stop",
        ],
    ]
    table = render(rows).splitlines()
    assert {line.index("10.101.1.1") for line in table[1:]} == {table[0].index("address")}
    assert {line.index(value) for line, value in zip(table[1:], ("yes", "no ("), strict=True)} == {
        table[0].index("proxy answers")
    }


def test_lab_names_make_the_namespace_names() -> None:
    layout = Layout.named("demo")
    assert layout.all_namespaces() == [
        "hapair-demo-br",
        "hapair-demo-node1",
        "hapair-demo-node2",
        "hapair-demo-client",
        "hapair-demo-web",
    ]
    assert str(layout.directory) == "/run/hapair-lab/demo"


@pytest.mark.parametrize("name", ["", "Demo", "a/b", "-x", "x" * 33, "a b"])
def test_names_that_cannot_name_a_namespace_are_refused(name: str) -> None:
    with pytest.raises(LabError, match="invalid lab name"):
        Layout.named(name)


def test_the_state_reads_back_as_written() -> None:
    state = LabState(
        name="x",
        namespaces=["hapair-x-br"],
        layer=4,
        config_dir="/tmp/c",
        nodes={
            1: NodeState(1, vrrp_program="keepalived", vrrp=ProcessId(10, 99), fault="link"),
            2: NodeState(2),
        },
        backend=ProcessId(12, 100),
    )
    assert LabState._from_json(_json_round_trip(asdict(state))) == state


def _json_round_trip(data: dict[str, object]) -> dict[str, object]:
    return json.loads(json.dumps(data))


def test_nginx_conf_includes_conf_d_in_http_for_l7_and_tcpconf_d_at_the_top_for_l4(tmp_path: Path) -> None:
    l7 = nginx_main(include_dir=tmp_path / "inc", layer=7, node_dir=tmp_path, real_nginx=False)
    assert f"http {{\n    include {tmp_path}/inc/*.conf;\n}}" in l7
    assert l7.startswith(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/log/error.log;\n")
    l4 = nginx_main(include_dir=tmp_path / "inc", layer=4, node_dir=tmp_path, real_nginx=False)
    assert "http" not in l4
    assert l4.endswith(f"include {tmp_path}/inc/*.conf;\n")


def test_the_seed_nginx_files_keep_their_text_but_log_into_the_node(tmp_path: Path) -> None:
    (l7,) = nginx_files(None, 7, tmp_path).values()
    assert "server 10.101.1.104:8080;" in l7
    assert "ssl_certificate       /etc/ssl/certs/k8sapiserver.crt;" in l7
    assert f"access_log      {tmp_path}/keepalived.access.log;" in l7
    assert "/var/log/nginx" not in l7
    (l4,) = nginx_files(None, 4, tmp_path).values()
    assert l4.startswith("stream {")


def test_a_user_who_is_not_root_is_refused() -> None:
    with pytest.raises(LabError, match="needs root"):
        check_requirements(euid=1000)


def test_export_writes_the_seed_files_and_will_not_overwrite_them(tmp_path: Path) -> None:
    written = export_seed(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == sorted(SEED_FILES)
    assert "priority 250" in (tmp_path / "node2" / "keepalived.conf").read_text()
    with pytest.raises(LabError, match=f"will not overwrite {tmp_path}/node1/keepalived.conf, "):
        export_seed(tmp_path)
