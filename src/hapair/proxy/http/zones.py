"""The shared memory zones: what `limit_req_zone`, `limit_conn_zone` and `health_check` ask of the master
(`zone_specs`, for `shm.SharedZones.renew`), and the zones as a worker's locations use them (`LimitZones`).
limit_req's and limit_conn's modules are imported only for a configuration declaring their zones (as
proxy/preload.py does before the workers are forked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.access import LimitZone, ZoneKind
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.http import HttpConfig

from ..shm import SharedZones, ZoneSpec
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from . import limit_conn, limit_req


def zone_specs(config: HttpConfig | NginxConfig | None) -> list[ZoneSpec]:
    """The zones a configuration declares, in its order."""
    http = config.http if isinstance(config, NginxConfig) else config
    stream = config.stream if isinstance(config, NginxConfig) else None
    specs = [_limit_zone_spec(zone) for zone in (http.zones if http is not None else ())]
    for checks, in_stream in (
        (http.health_checks if http is not None else (), False),
        (stream.health_checks if stream is not None else (), True),
    ):
        if checks:
            from ..health.board import zone_spec  # noqa: PLC0415 (with checks only)

            spec = zone_spec(checks, stream=in_stream)
            assert spec is not None  # (a block with checks has a zone)
            specs.append(spec)
    return specs


def _limit_zone_spec(zone: LimitZone) -> ZoneSpec:
    if zone.kind is ZoneKind.LIMIT_REQ:
        from . import limit_req  # noqa: PLC0415

        return limit_req.zone_spec(zone)
    from . import limit_conn  # noqa: PLC0415

    return limit_conn.zone_spec(zone)


class LimitZones:
    """The limit zones of a configuration in one process, by name, with their keys made ready."""

    def __init__(self, shared: SharedZones, zones: tuple[LimitZone, ...]) -> None:
        self._req: dict[str, limit_req.LimitReqZone] = {}
        self._conn: dict[str, limit_conn.LimitConnZone] = {}
        self._keys: dict[str, tuple[CompiledTemplate, str]] = {}
        for zone in zones:
            if zone.kind is ZoneKind.LIMIT_REQ:
                from .limit_req import LimitReqZone  # noqa: PLC0415

                self._req[zone.name] = LimitReqZone(shared.get(zone.name), zone.rate)
            else:
                from .limit_conn import LimitConnZone  # noqa: PLC0415

                self._conn[zone.name] = LimitConnZone(shared.get(zone.name))
            self._keys[zone.name] = (CompiledTemplate(zone.key), zone.key.source)

    def limit_req(self, name: str, burst: int, delay: int) -> limit_req.Limit:
        from .limit_req import Limit  # noqa: PLC0415 (the zone's module, imported with it)

        key, source = self._keys[name]
        return Limit(self._req[name], key, source, burst, delay)

    def limit_conn(self, name: str, connections: int) -> limit_conn.Limit:
        from .limit_conn import Limit  # noqa: PLC0415 (the zone's module, imported with it)

        key, source = self._keys[name]
        return Limit(self._conn[name], key, source, connections)
