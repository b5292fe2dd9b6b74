"""The shared memory zones: what `limit_req_zone`, `limit_conn_zone` and `health_check` ask of the master
(`zone_specs`, for `shm.SharedZones.renew`), and the zones as a worker's locations use them (`LimitZones`).
"""

from __future__ import annotations

from hapair.config.nginx.model.access import LimitZone, ZoneKind
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.http import HttpConfig

from .. import health
from ..shm import SharedZones, ZoneSpec
from . import limit_conn, limit_req
from .variables import CompiledTemplate


def zone_specs(config: HttpConfig | NginxConfig | None) -> list[ZoneSpec]:
    """The zones a configuration declares, in its order."""
    http = config.http if isinstance(config, NginxConfig) else config
    stream = config.stream if isinstance(config, NginxConfig) else None
    specs = [
        limit_req.zone_spec(zone) if zone.kind is ZoneKind.LIMIT_REQ else limit_conn.zone_spec(zone)
        for zone in (http.zones if http is not None else ())
    ]
    for checks, in_stream in (
        (http.health_checks if http is not None else (), False),
        (stream.health_checks if stream is not None else (), True),
    ):
        spec = health.zone_spec(checks, stream=in_stream)
        if spec is not None:
            specs.append(spec)
    return specs


class LimitZones:
    """The limit zones of a configuration in one process, by name, with their keys made ready."""

    def __init__(self, shared: SharedZones, zones: tuple[LimitZone, ...]) -> None:
        self._req: dict[str, limit_req.LimitReqZone] = {}
        self._conn: dict[str, limit_conn.LimitConnZone] = {}
        self._keys: dict[str, tuple[CompiledTemplate, str]] = {}
        for zone in zones:
            if zone.kind is ZoneKind.LIMIT_REQ:
                self._req[zone.name] = limit_req.LimitReqZone(shared.get(zone.name), zone.rate)
            else:
                self._conn[zone.name] = limit_conn.LimitConnZone(shared.get(zone.name))
            self._keys[zone.name] = (CompiledTemplate(zone.key), zone.key.source)

    def limit_req(self, name: str, burst: int, delay: int) -> limit_req.Limit:
        key, source = self._keys[name]
        return limit_req.Limit(self._req[name], key, source, burst, delay)

    def limit_conn(self, name: str, connections: int) -> limit_conn.Limit:
        key, source = self._keys[name]
        return limit_conn.Limit(self._conn[name], key, source, connections)
