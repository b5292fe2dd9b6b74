"""`hapair bgp`'s configuration: a small file of its own (default /etc/hapair/bgp.conf), one directive
per line, `#` starts a comment:

    speaker bird table 200        # or: speaker exabgp
    proxy_pid /run/nginx.pid      # the proxy whose process is followed, and stopped by `drain`
    interval 100ms                # health probes' period (ms or s)
    rise 3                        # healthy probes in a row before a source counts as up
    fall 2                        # failed probes in a row before it counts as down
    drain_settle 1s               # after the withdraw, how long before the proxy is asked to stop
    drain_timeout 90s             # how long its graceful stop may take before its fast stop (SIGTERM)
    control /run/hapair-bgp.sock  # where `hapair bgp drain|undrain|status` reach the daemon
    backends 10.0.1.5:8080 10.0.1.6:8080   # the proxy's backends: the VIPs follow whether any is reachable
    vip 10.0.0.10 ports 80 443    # a VIP (on the loopback) and the listeners it follows
    vip 10.0.0.11 ports 80 follow node   # ... and a source fed from outside (`observe node up|down`)

Under `hapair node --bgp FILE` the node's own trackers (proxy, proxy_serving, backends; hapair.node) are
what the VIPs follow, so the directives of hapair bgp's probes (`proxy_pid`, `interval`, `rise`, `fall`,
`backends` and a vip's `ports`) are refused there by name: `load(path, "node")`. The control commands
(`hapair bgp -c FILE status|drain|undrain`) read either kind: `load(path, None)`; `hapair bgp -t` checks
either kind as what it is: `check(path)`.

Every message names the file and the line, as `-t` prints them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = "/etc/hapair/bgp.conf"
DEFAULT_CONTROL = "/run/hapair-bgp.sock"
SPEAKERS = ("bird", "exabgp")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s)")
BUILT_IN_SOURCES = ("proxy", "proxy_serving", "backends")  # and "listener VIP:PORT"
PROBE_DIRECTIVES = ("proxy_pid", "interval", "rise", "fall", "backends")


class ConfigError(Exception):
    """A configuration error, its message starting with FILE:LINE."""


@dataclass(frozen=True)
class Vip:
    address: str
    ports: tuple[int, ...]
    follow: tuple[str, ...] = ()  # sources fed from outside, through the control socket
    where: str = field(default="", compare=False)  # FILE:LINE


@dataclass
class BgpConfig:
    path: str
    speaker: str = ""
    table: int | None = None
    proxy_pid: str = ""
    interval: float = 0.1
    rise: int = 3
    fall: int = 2
    drain_settle: float = 1.0
    drain_timeout: float = 90.0
    control: str = DEFAULT_CONTROL
    backends: tuple[tuple[str, int], ...] = ()
    vips: list[Vip] = field(default_factory=list)
    lines: dict[str, str] = field(default_factory=dict)  # each directive (but vip): its FILE:LINE


def load(path: str, daemon: str | None = "bgp") -> BgpConfig:
    """Read and check `path` for `daemon` ("bgp", "node": hapair node --bgp, None: a control command);
    ConfigError on the first problem."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    return parse(text, path, daemon)


def check(path: str) -> tuple[BgpConfig, str]:
    """`hapair bgp -t`: `path` checked as a file for hapair bgp if it has a directive of hapair bgp's
    probes, else as one for hapair node --bgp; the configuration, and which daemon ("bgp" or "node") it
    was checked for. ConfigError on the first problem."""
    config = load(path, None)
    daemon = "bgp" if uses_probes(config) else "node"
    return load(path, daemon), daemon


def uses_probes(config: BgpConfig) -> bool:
    """Whether the file says how hapair bgp probes (which hapair node --bgp refuses)."""
    return any(name in config.lines for name in PROBE_DIRECTIVES) or any(vip.ports for vip in config.vips)


def parse(text: str, path: str, daemon: str | None = "bgp") -> BgpConfig:
    config = BgpConfig(path)
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}:{number}"
        name, args = words[0], words[1:]
        handler = _HANDLERS.get(name)
        if handler is None:
            raise ConfigError(f"{where}: unknown directive {name!r}")
        if name != "vip" and name in seen:
            raise ConfigError(f"{where}: {name!r} is duplicate (first on line {seen[name]})")
        seen[name] = number
        config.lines.setdefault(name, where)
        handler(config, args, where)
    if daemon == "node":
        _check_for_node(config)
    _check_complete(config, f"{path}:{len(text.splitlines())}", daemon)
    return config


def _check_complete(config: BgpConfig, end: str, daemon: str | None) -> None:
    """What a file must say, reported at its last line."""
    required = [("speaker", config.speaker)] + ([("proxy_pid", config.proxy_pid)] if daemon == "bgp" else [])
    for name, value in required:
        if not value:
            raise ConfigError(f"{end}: no {name!r} directive")
    if not config.vips:
        raise ConfigError(f"{end}: no 'vip' directive: nothing to announce")


def _check_for_node(config: BgpConfig) -> None:
    """Under `hapair node --bgp`, the node's trackers replace hapair bgp's probes: their settings would
    not be used, so they are refused (node.toml's [proxy] and [backends] set the trackers')."""
    why = "is for hapair bgp's own probes; under hapair node the VIPs follow the node's trackers"
    for name in PROBE_DIRECTIVES:
        if name in config.lines:
            raise ConfigError(f"{config.lines[name]}: {name!r} {why} (see its settings file)")
    for vip in config.vips:
        if vip.ports:
            raise ConfigError(f"{vip.where}: 'ports' {why} (the listeners of nginx.conf)")


def _one(args: list[str], where: str, name: str) -> str:
    if len(args) != 1:
        raise ConfigError(f"{where}: {name!r} takes one value, not {len(args)}")
    return args[0]


def _speaker(config: BgpConfig, args: list[str], where: str) -> None:
    if not args or args[0] not in SPEAKERS:
        raise ConfigError(f"{where}: 'speaker' is one of {', '.join(SPEAKERS)}")
    config.speaker = args[0]
    if args[0] == "exabgp":
        if len(args) != 1:
            raise ConfigError(f"{where}: 'speaker exabgp' takes no parameter (ExaBGP's own file has them)")
        return
    if len(args) != 3 or args[1] != "table":
        raise ConfigError(f"{where}: 'speaker bird' needs 'table N', the kernel table BIRD learns from")
    config.table = _integer(args[2], where, "table", 1, 2**32 - 1)
    if config.table in (253, 254, 255):
        raise ConfigError(f"{where}: table {config.table} is the kernel's own; choose another")


def _proxy_pid(config: BgpConfig, args: list[str], where: str) -> None:
    config.proxy_pid = _one(args, where, "proxy_pid")


def _interval(config: BgpConfig, args: list[str], where: str) -> None:
    config.interval = _duration(_one(args, where, "interval"), where, "interval")


def _drain_settle(config: BgpConfig, args: list[str], where: str) -> None:
    config.drain_settle = _duration(_one(args, where, "drain_settle"), where, "drain_settle", zero=True)


def _drain_timeout(config: BgpConfig, args: list[str], where: str) -> None:
    config.drain_timeout = _duration(_one(args, where, "drain_timeout"), where, "drain_timeout")


def _rise(config: BgpConfig, args: list[str], where: str) -> None:
    config.rise = _integer(_one(args, where, "rise"), where, "rise", 1, 100)


def _fall(config: BgpConfig, args: list[str], where: str) -> None:
    config.fall = _integer(_one(args, where, "fall"), where, "fall", 1, 100)


def _control(config: BgpConfig, args: list[str], where: str) -> None:
    config.control = _one(args, where, "control")


def _backends(config: BgpConfig, args: list[str], where: str) -> None:
    if not args:
        raise ConfigError(f"{where}: 'backends' needs at least one ADDRESS:PORT")
    found: list[tuple[str, int]] = []
    for word in args:
        host, _, port = word.rpartition(":")
        try:
            address = str(ipaddress.IPv4Address(host))
        except ValueError:
            raise ConfigError(f"{where}: invalid backend {word!r} (an IPv4 ADDRESS:PORT)") from None
        found.append((address, _integer(port, where, "port", 1, 65535)))
    config.backends = tuple(dict.fromkeys(found))


def _vip(config: BgpConfig, args: list[str], where: str) -> None:
    follow: list[str] = []
    if "follow" in args:
        args, follow = args[: args.index("follow")], args[args.index("follow") + 1 :]
        if not follow:
            raise ConfigError(f"{where}: 'follow' needs the name of a health source")
    if not args or (len(args) > 1 and (len(args) < 3 or args[1] != "ports")):
        raise ConfigError(f"{where}: 'vip' is written 'vip ADDRESS [ports PORT...] [follow SOURCE...]'")
    try:
        address = ipaddress.IPv4Address(args[0])
    except ValueError:
        raise ConfigError(f"{where}: {args[0]!r} is not an IPv4 address") from None
    if any(v.address == str(address) for v in config.vips):
        raise ConfigError(f"{where}: vip {address} is duplicate")
    ports = tuple(_integer(p, where, "port", 1, 65535) for p in args[2:])
    if len(set(ports)) != len(ports):
        raise ConfigError(f"{where}: a port is listed twice")
    reserved = [name for name in follow if name in BUILT_IN_SOURCES or name.startswith("listener")]
    if reserved:
        raise ConfigError(f"{where}: {reserved[0]!r} is the name of a built-in source")
    config.vips.append(Vip(str(address), ports, tuple(follow), where))


def _integer(word: str, where: str, name: str, low: int, high: int) -> int:
    if not word.isdigit() or not low <= int(word) <= high:
        raise ConfigError(f"{where}: invalid {name} {word!r} (an integer from {low} to {high})")
    return int(word)


def _duration(word: str, where: str, name: str, *, zero: bool = False) -> float:
    match = _DURATION.fullmatch(word)
    if match is None:
        raise ConfigError(f"{where}: invalid {name} {word!r} (a number with ms or s, as 100ms)")
    seconds = float(match[1]) / (1000 if match[2] == "ms" else 1)
    if seconds == 0 and not zero:
        raise ConfigError(f"{where}: {name} cannot be 0")
    return seconds


_HANDLERS = {
    "speaker": _speaker,
    "proxy_pid": _proxy_pid,
    "interval": _interval,
    "rise": _rise,
    "fall": _fall,
    "drain_settle": _drain_settle,
    "drain_timeout": _drain_timeout,
    "control": _control,
    "backends": _backends,
    "vip": _vip,
}
