"""The settings of `hapair node`'s native tracking: defaults, the settings file (TOML, optional) and the
command line, in that order of precedence from last to first. keepalived.conf gets no new keyword, so that
a node's file still passes keepalived's `-t`.

The file (default /etc/hapair/node.toml; every key optional):

    [native]
    enabled = true            # false: no native tracker (track_script & co. still run)
    instances = []            # the instances to track; empty: those whose VIPs the proxy listens on
                              # (every instance when it listens on a wildcard address)
    [proxy]
    weight = 0                # 0: FAULT while the proxy is down or not serving; else a priority weight
    interval = 0.1            # seconds between two health exchanges with the workers
    fall = 3                  # exchanges (or a listener's loopback requests) failed in a row
                              # before the proxy counts as not serving
    rise = 2                  # exchanges answered in a row before it counts as serving again
    listener_interval = 1.0   # seconds between two loopback requests to each listener (0: none)
    [backends]
    enabled = true
    weight = -50              # priority change while no backend is reachable (0: FAULT)
    interval = 0.3            # seconds between two rounds of connections to every backend
    timeout = 0.25            # a connection not made in this long failed
    fall = 3
    rise = 2
    [restart]
    delay = 0.1               # a proxy master that dies is started again after this long,
    max_delay = 5.0           # doubled at each death within `window` seconds, up to max_delay
    window = 30.0
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_FILE = "/etc/hapair/node.toml"


class SettingsError(Exception):
    """The settings file cannot be used; the message says why."""


@dataclass(frozen=True)
class Native:
    enabled: bool = True
    instances: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProxyHealth:
    weight: int = 0
    interval: float = 0.1
    fall: int = 3
    rise: int = 2
    listener_interval: float = 1.0


@dataclass(frozen=True)
class BackendHealth:
    enabled: bool = True
    weight: int = -50
    interval: float = 0.3
    timeout: float = 0.25
    fall: int = 3
    rise: int = 2


@dataclass(frozen=True)
class Restart:
    delay: float = 0.1
    max_delay: float = 5.0
    window: float = 30.0


@dataclass(frozen=True)
class NodeSettings:
    native: Native = field(default_factory=Native)
    proxy: ProxyHealth = field(default_factory=ProxyHealth)
    backends: BackendHealth = field(default_factory=BackendHealth)
    restart: Restart = field(default_factory=Restart)


SECTIONS: dict[str, type[Any]] = {
    "native": Native,
    "proxy": ProxyHealth,
    "backends": BackendHealth,
    "restart": Restart,
}


def read_settings(path: str, *, required: bool) -> NodeSettings:
    """The file's settings over the defaults; a missing file is the defaults unless `required`."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        if required:
            raise SettingsError(f"settings file {path} not found") from None
        return NodeSettings()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"settings file {path}: {error}") from None
    return from_mapping(data, path)


def from_mapping(data: dict[str, Any], origin: str) -> NodeSettings:
    settings = NodeSettings()
    for section, values in data.items():
        kind = SECTIONS.get(section)
        if kind is None or not isinstance(values, dict):
            raise SettingsError(f"{origin}: unknown section [{section}]")
        current = getattr(settings, section)
        settings = replace(settings, **{section: _section(current, values, f"{origin}: [{section}]")})
    return validated(settings, origin)


def _section(current: Any, values: dict[str, Any], where: str) -> Any:
    types = {f.name: type(getattr(current, f.name)) for f in fields(current)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        wanted = types.get(key)
        if wanted is None:
            raise SettingsError(f"{where} unknown key {key}")
        changes[key] = _typed(value, wanted, f"{where} {key}")
    return replace(current, **changes)


def _typed(value: Any, wanted: type[Any], where: str) -> Any:
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if wanted is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool)):
        return value
    raise SettingsError(f"{where}: {value!r} is not a{'n' if wanted is int else ''} {wanted.__name__}")


def validated(settings: NodeSettings, origin: str) -> NodeSettings:
    """Refuse what cannot work: counts below 1, intervals not above 0, weights out of keepalived's range."""
    for section in SECTIONS:
        values = getattr(settings, section)
        for f in fields(values):
            value = getattr(values, f.name)
            if f.name in ("fall", "rise") and value < 1:
                raise SettingsError(f"{origin}: [{section}] {f.name} must be 1 or more")
            if f.name in ("interval", "timeout", "delay", "max_delay", "window") and value <= 0:
                raise SettingsError(f"{origin}: [{section}] {f.name} must be above 0")
            if f.name == "weight" and not -253 <= value <= 253:
                raise SettingsError(f"{origin}: [{section}] weight must be between -253 and 253")
    if settings.proxy.listener_interval < 0:
        raise SettingsError(f"{origin}: [proxy] listener_interval must be 0 or more")
    return settings
