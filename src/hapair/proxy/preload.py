"""What a configuration's workers will import on first use, imported by the master before it forks them.

A worker runs as `user` (nobody by default) from the moment it starts, and such a user may be unable to
read the interpreter's own files then (an interpreter installed under /root, as pyenv does): what the
worker has not imported by then, it cannot import at all. What the master imported is also shared by every
worker rather than held by each. The modules a configuration may not need are left out unless it does
(issue 15's 25 MB per worker): HTTP/2 without an `http2` listener, dnspython without a `resolver`, the
L4 data plane (hapair.proxy.stream) without a `stream {}` block, the idna codec without TLS upstreams
or names resolved per request, hapair.openssl and ctypes (0.3 MB) without TLS listeners, hashlib (0.65
MB: OpenSSL's digests) without TLS listeners or `auth_basic`, ctypes without either, random (0.13 MB)
without `random` balancing, a health check's jitter or a resolver, hapair.proxy.health without
`health_check`, the balancing methods other than round robin without an upstream group using them, and
the HTTP feature modules (limit_req, auth_basic, map...: `http_feature_modules`) without a directive or
variable using them.

The idna codec (encodings.idna, with unicodedata and stringprep: 0.2 MB) is what ssl encodes the name an
upstream TLS connection sends (SNI) or checks with, what dnspython imports, and what uvloop encodes a
host name with when it resolves one (an address, as the workers give it, it reads as ASCII; the name a
client sends a TLS listener ssl reads as ASCII). So it is imported for a configuration with an https
`proxy_pass`, a `proxy_pass` with variables (its scheme and host are known per request), a stream
`proxy_ssl`, or a `resolver`."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable, Mapping

from hapair.config.nginx.model.access import AuthBasic, LimitZone, ZoneKind
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.health import HealthCheck
from hapair.config.nginx.model.http import ProxyPass, ProxyPassTemplate, Server, Settings
from hapair.config.nginx.model.proxy import ProxyResponse
from hapair.config.nginx.model.resolver import Resolver
from hapair.config.nginx.model.stream import StreamProxy
from hapair.config.nginx.model.templates import Variable
from hapair.config.nginx.model.tls import ServerTls
from hapair.config.nginx.model.upstream import Balancing, Upstream
from hapair.config.nginx.model.variables import Map, SplitClients

from .balancing import METHOD_MODULES
from .health import has_health_checks
from .http import h2
from .resolver import DNS_MODULES

STREAM = "hapair.proxy.stream"
IDNA = "encodings.idna"
OPENSSL = "hapair.openssl"  # (TLS listeners: the settings ssl lacks, with ctypes; http/tls.py)
HASHES = "hashlib"  # ($ssl_client_fingerprint, auth_basic's password hashes)
CTYPES = "ctypes"  # (auth_basic's crypt_r)
RANDOM = "random"  # (`random` balancing, health checks' jitter; a resolver's with DNS_MODULES)
HTTP = "hapair.proxy.http."
# nginx's content handlers for files and the range filter: a location without `proxy_pass`, and every
# server's route for the requests none of its locations takes (http/phases.py)
FILE_HANDLERS = (HTTP + "index", HTTP + "static", HTTP + "ranges")
# the results (the services' balancers, the master's status), the checks (worker 0): `health_check` only
HEALTH_MODULES = ("hapair.proxy.health.board", "hapair.proxy.health.checker", "hapair.proxy.health.reader")
CLIENT_CERTIFICATES = HTTP + "client_certificates"  # (TLS servers, $ssl_client_*)


def preload(config: NginxConfig) -> None:
    if uses_host_names(config):
        importlib.import_module(IDNA)
    if _any_part(config, lambda value: isinstance(value, ServerTls)):
        importlib.import_module(OPENSSL)
        importlib.import_module(HASHES)
    if _any_part(config, lambda value: isinstance(value, AuthBasic)):
        importlib.import_module(HASHES)
        importlib.import_module(CTYPES)
    if _any_part(config, _draws_at_random):
        importlib.import_module(RANDOM)
    for module in balancing_modules(config):
        importlib.import_module(module)
    for module in sorted(http_feature_modules(config)):
        importlib.import_module(module)
    h2.preload(config)
    if config.stream is not None:
        importlib.import_module(STREAM)
    if has_health_checks(config):
        for module in HEALTH_MODULES:
            importlib.import_module(module)
    if has_resolver(config):
        for module in DNS_MODULES:
            importlib.import_module(module)


def balancing_modules(config: NginxConfig) -> set[str]:
    """The modules of the balancing methods the configuration's upstream groups use beside round robin."""
    modules: set[str] = set()
    _any_part(config, lambda value: _add_balancing_module(value, modules))
    return modules


def _add_balancing_module(value: object, modules: set[str]) -> bool:
    if isinstance(value, Upstream) and value.balancing in METHOD_MODULES:
        modules.add(METHOD_MODULES[value.balancing])
    return False


def http_feature_modules(config: NginxConfig) -> set[str]:
    """The HTTP feature modules the configuration's directives and variables use, which the workers'
    builders import (http/phases.py, variables.py, configured.py, zones.py, service.py,
    upstream_response.py): each here wherever the builder would import it, if not always then."""
    modules: set[str] = set()
    _any_part(config, lambda value: _add_http_features(value, modules))
    return modules


def _add_http_features(value: object, modules: set[str]) -> bool:
    if isinstance(value, Settings):
        modules.update(_settings_features(value))
    elif isinstance(value, Server) and value.tls is not None:
        modules.add(CLIENT_CERTIFICATES)
    elif isinstance(value, Map | SplitClients):
        modules.add(HTTP + ("map" if isinstance(value, Map) else "split_clients"))
    elif isinstance(value, LimitZone):
        modules.add(HTTP + ("limit_req" if value.kind is ZoneKind.LIMIT_REQ else "limit_conn"))
    elif isinstance(value, Variable) and value.name.startswith("ssl_client_"):
        modules.add(CLIENT_CERTIFICATES)
    elif isinstance(value, ProxyResponse) and _rewrites_cookies(value):
        modules.add(HTTP + "cookies")
    return False


def _rewrites_cookies(response: ProxyResponse) -> bool:
    return bool(response.cookie_domains or response.cookie_paths or response.cookie_flags)


def _settings_features(settings: Settings) -> list[str]:
    """The modules of a location's (or a server's) steps and filters (http/phases.py)."""
    access, files = settings.access, settings.files
    used = {
        "realip": access.realip is not None,
        "limit_req": bool(access.limit_req.limits),
        "limit_conn": bool(access.limit_conn.limits),
        "auth_basic": access.auth_basic is not None,
        "auth_request": access.auth_request is not None,
        "try_files": files.try_files is not None,
        "stub_status": settings.stub_status,
        "charset": settings.charset.charset is not None,
    }
    modules = [HTTP + name for name, present in used.items() if present]
    if settings.proxy.target is None:
        modules += FILE_HANDLERS
        if files.autoindex.enabled:
            modules.append(HTTP + "autoindex")
    return modules


def has_resolver(config: NginxConfig) -> bool:
    """Whether a `resolver` is in force anywhere in the configuration's model (a `proxy_pass` with
    variables may use it)."""
    return _any_part(config, lambda value: isinstance(value, Resolver))


def uses_host_names(config: NginxConfig) -> bool:
    """Whether the workers may encode or decode a host name with the idna codec (the module's docstring)."""
    return _any_part(config, _names_a_host)


def _draws_at_random(value: object) -> bool:
    if isinstance(value, Upstream):
        return value.balancing in (Balancing.RANDOM, Balancing.RANDOM_TWO)
    return isinstance(value, HealthCheck) and value.jitter_ms > 0


def _names_a_host(value: object) -> bool:
    if isinstance(value, ProxyPassTemplate | Resolver):
        return True
    if isinstance(value, ProxyPass):
        return value.scheme == "https"
    return isinstance(value, StreamProxy) and value.tls is not None


def _any_part(config: NginxConfig, found: Callable[[object], bool]) -> bool:
    """Whether `found` is true of any value in the configuration's model."""
    seen: set[int] = set()
    pending: list[object] = [config]
    while pending:
        value = pending.pop()
        if found(value):
            return True
        if id(value) in seen:
            continue
        seen.add(id(value))
        pending.extend(_parts(value))
    return False


def _parts(value: object) -> Iterable[object]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (getattr(value, field.name) for field in dataclasses.fields(value))
    if isinstance(value, Mapping):
        return value.values()
    if isinstance(value, tuple | list | set | frozenset):
        return value
    return ()
