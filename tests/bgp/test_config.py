"""hapair bgp's configuration file: what it reads, and a message naming the file and line for each
mistake (`hapair bgp -t`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hapair.bgp.config import ConfigError, Vip, parse
from tests.topology import HAPAIR

GOOD = """# a node
speaker bird table 200
proxy_pid /run/nginx.pid
interval 50ms
rise 4
fall 1
drain_settle 0s
drain_timeout 2.5s
control /run/x.sock
vip 10.0.0.10 ports 80 443
vip 10.0.0.11 ports 8080 follow node   # fed by hapair node
"""


def test_reads_every_directive() -> None:
    config = parse(GOOD, "bgp.conf")
    assert (config.speaker, config.table, config.proxy_pid) == ("bird", 200, "/run/nginx.pid")
    assert (config.interval, config.rise, config.fall, config.drain_settle) == (0.05, 4, 1, 0.0)
    assert (config.drain_timeout, config.control) == (2.5, "/run/x.sock")
    assert config.vips == [Vip("10.0.0.10", (80, 443)), Vip("10.0.0.11", (8080,), ("node",))]


def test_backends_and_a_vip_without_ports() -> None:
    text = "speaker exabgp\nproxy_pid /p\nbackends 10.0.1.5:80 10.0.1.6:8080 10.0.1.5:80\nvip 10.0.0.1\n"
    config = parse(text, "f")
    assert config.backends == (("10.0.1.5", 80), ("10.0.1.6", 8080))
    assert config.vips == [Vip("10.0.0.1", ())]


NODE_GOOD = "speaker bird table 200\ncontrol /run/x.sock\ndrain_settle 1s\nvip 10.0.0.10 follow other\n"


def test_under_hapair_node_no_proxy_pid_is_needed() -> None:
    config = parse(NODE_GOOD, "f", "node")
    assert config.vips == [Vip("10.0.0.10", (), ("other",))]
    assert config.proxy_pid == ""


def test_under_hapair_node_drain_timeout_is_read() -> None:
    assert parse(f"{NODE_GOOD}drain_timeout 500ms\n", "f", "node").drain_timeout == 0.5


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("proxy_pid /p", "proxy_pid"),
        ("interval 1s", "interval"),
        ("rise 2", "rise"),
        ("fall 2", "fall"),
        ("backends 10.0.0.1:80", "backends"),
    ],
)
def test_under_hapair_node_the_probes_directives_are_refused(line: str, name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(f"{NODE_GOOD}{line}\n", "f", "node")
    assert str(caught.value) == (
        f"f:5: {name!r} is for hapair bgp's own probes; under hapair node the VIPs follow the node's "
        "trackers (see its settings file)"
    )


def test_under_hapair_node_a_vips_ports_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("speaker exabgp\nvip 10.0.0.1 follow x\nvip 10.0.0.2 ports 80\n", "f", "node")
    assert str(caught.value) == (
        "f:3: 'ports' is for hapair bgp's own probes; under hapair node the VIPs follow the node's "
        "trackers (the listeners of nginx.conf)"
    )


def test_defaults() -> None:
    config = parse("speaker exabgp\nproxy_pid /p\nvip 10.0.0.1 ports 80\n", "f")
    assert (config.interval, config.rise, config.fall, config.drain_settle) == (0.1, 3, 2, 1.0)
    assert config.drain_timeout == 90.0
    assert config.table is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("speaker quagga\n", "f:1: 'speaker' is one of bird, exabgp"),
        ("speaker bird\n", "f:1: 'speaker bird' needs 'table N', the kernel table BIRD learns from"),
        ("speaker bird table 254\n", "f:1: table 254 is the kernel's own; choose another"),
        ("speaker exabgp x\n", "f:1: 'speaker exabgp' takes no parameter (ExaBGP's own file has them)"),
        ("\n\nrise 0\n", "f:3: invalid rise '0' (an integer from 1 to 100)"),
        ("interval 100\n", "f:1: invalid interval '100' (a number with ms or s, as 100ms)"),
        ("interval 0ms\n", "f:1: interval cannot be 0"),
        ("fall 1 2\n", "f:1: 'fall' takes one value, not 2"),
        ("\ndrain_timeout 0s\n", "f:2: drain_timeout cannot be 0"),
        ("drain_timeout 2m\n", "f:1: invalid drain_timeout '2m' (a number with ms or s, as 100ms)"),
        ("drain_timeout\n", "f:1: 'drain_timeout' takes one value, not 0"),
        ("rise 2\nrise 3\n", "f:2: 'rise' is duplicate (first on line 1)"),
        ("vip 10.0.0.1 80\n", "f:1: 'vip' is written 'vip ADDRESS [ports PORT...] [follow SOURCE...]'"),
        ("vip follow x\n", "f:1: 'vip' is written 'vip ADDRESS [ports PORT...] [follow SOURCE...]'"),
        ("backends\n", "f:1: 'backends' needs at least one ADDRESS:PORT"),
        ("backends 10.0.0.1\n", "f:1: invalid backend '10.0.0.1' (an IPv4 ADDRESS:PORT)"),
        ("backends 10.0.0.1:99999\n", "f:1: invalid port '99999' (an integer from 1 to 65535)"),
        ("vip 10.0.0.1 follow backends\n", "f:1: 'backends' is the name of a built-in source"),
        ("vip 10.0.0.300 ports 80\n", "f:1: '10.0.0.300' is not an IPv4 address"),
        ("vip 10.0.0.1 ports 80 80\n", "f:1: a port is listed twice"),
        ("vip 10.0.0.1 ports 0\n", "f:1: invalid port '0' (an integer from 1 to 65535)"),
        ("vip 10.0.0.1 ports 80\nvip 10.0.0.1 ports 81\n", "f:2: vip 10.0.0.1 is duplicate"),
        ("vip 10.0.0.1 ports 80 follow\n", "f:1: 'follow' needs the name of a health source"),
        ("vip 10.0.0.1 ports 80 follow proxy\n", "f:1: 'proxy' is the name of a built-in source"),
        ("listen 80\n", "f:1: unknown directive 'listen'"),
        ("speaker exabgp\nvip 10.0.0.1 ports 80\n", "f:2: no 'proxy_pid' directive"),
        ("speaker exabgp\nproxy_pid /p\n# end\n", "f:3: no 'vip' directive: nothing to announce"),
    ],
)
def test_each_mistake_is_reported_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, "f")
    assert str(caught.value) == message


def test_dash_t_reports_success_and_failure(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.conf", tmp_path / "bad.conf"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("fall 1", "fall x"))
    ok = subprocess.run([HAPAIR, "bgp", "-t", "-c", str(good)], capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stderr) == (
        0,
        f"hapair bgp: the configuration file {good} syntax is ok\n"
        f"hapair bgp: configuration file {good} test is successful\n",
    )
    failed = subprocess.run(
        [HAPAIR, "bgp", "-t", "-c", str(bad)], capture_output=True, text=True, check=False
    )
    message = f"hapair bgp: {bad}:6: invalid fall 'x' (an integer from 1 to 100)\n"
    assert (failed.returncode, failed.stderr) == (1, message)


def dash_t(path: Path) -> tuple[int, str]:
    result = subprocess.run(
        [HAPAIR, "bgp", "-t", "-c", str(path)], capture_output=True, text=True, check=False
    )
    return result.returncode, result.stderr


def test_dash_t_checks_a_file_for_hapair_node_as_such(tmp_path: Path) -> None:
    path = tmp_path / "node.conf"
    path.write_text(NODE_GOOD)
    assert dash_t(path) == (
        0,
        f"hapair bgp: {path} is a file for hapair node --bgp (no directive of hapair bgp's probes)\n"
        f"hapair bgp: the configuration file {path} syntax is ok\n"
        f"hapair bgp: configuration file {path} test is successful\n",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (NODE_GOOD.replace("drain_settle 1s", "drain_settle soon"), "3: invalid drain_settle 'soon'"),
        (NODE_GOOD + "vip 10.0.0.10\n", "5: vip 10.0.0.10 is duplicate"),
        (NODE_GOOD + "vip 10.0.0.12 follow proxy_serving\n", "5: 'proxy_serving' is the name of a built-in"),
        ("# node\nspeaker exabgp\ncontrol /x\n", "3: no 'vip' directive: nothing to announce"),
        ("vip 10.0.0.10\n\n", "2: no 'speaker' directive"),
        # a directive of hapair bgp's probes makes it hapair bgp's: its proxy_pid is then needed
        ("speaker exabgp\nrise 2\nvip 10.0.0.10\n", "3: no 'proxy_pid' directive"),
        ("speaker exabgp\nvip 10.0.0.10 ports 80\n", "2: no 'proxy_pid' directive"),
    ],
)
def test_dash_t_reports_a_node_files_mistakes_with_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "node.conf"
    path.write_text(text)
    status, said = dash_t(path)
    assert (status, said.startswith(f"hapair bgp: {path}:{message}"), said.count("\n")) == (1, True, 1), said
