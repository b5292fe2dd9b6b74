"""The limit_conn module (ngx_http_limit_conn_module): the requests of a key under way at once, counted in
a zone every worker shares.

A request counts in each of its location's `limit_conn` zones (a key of no value does not count) until it
ends, its log line written; one that would pass a limit is refused (`limit_conn_status`, 503 by default:
`limiting connections by zone ...`) and counts nowhere. `limit_conn_dry_run` logs and sets
`$limit_conn_status` without refusing. A request is counted once, internal redirects included.

A key's count lives in a node of nginx's slab pool, freed when the count falls to zero: a zone full of
keys refuses new ones (`ngx_slab_alloc() failed: no memory in limit_conn_zone ...`, in the main error log).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hapair.config.nginx.model.access import LimitConnSettings, LimitZone
from hapair.config.nginx.model.logging import ErrorLevel

from ..errorlog import to_main_log
from ..shm import SharedZone, ZoneSpec
from ..slab import Slab
from .exchange import NEXT
from .keyindex import NODE_HEAD, KeyIndex, index_size, key_hash
from .limit_req import Key, key_bytes
from .limit_statuses import LIMIT_CONN_PASSED, LIMIT_CONN_REJECTED, LIMIT_CONN_REJECTED_DRY_RUN
from .logcontext import log_request_error

if TYPE_CHECKING:
    from .exchange import Exchange

# nginx's sizes: sizeof(ngx_http_limit_conn_shctx_t), and a node's header (the red-black tree node up to
# `color`, then ngx_http_limit_conn_node_t up to `data`)
_SHARED_CONTEXT = 64
_NODE_OVERHEAD = 32 + 4
_MAX_KEY = 255

_COUNT_AT = NODE_HEAD.size
_KEY_AT = _COUNT_AT + 2  # hapair's node: the index's head, the count, the key
_U16 = struct.Struct("<H")


def zone_spec(zone: LimitZone) -> ZoneSpec:
    def conflict(previous: str) -> str:
        return (
            f'limit_conn_zone "{zone.name}" uses the "{zone.key.source}" key while previously it used the '
            f'"{previous}" key'
        )

    def initialize(shared: SharedZone) -> None:
        slab = Slab(shared.memory, shared.size, initialize=True)
        record = slab.alloc(_SHARED_CONTEXT)
        slab.alloc(len(f' in limit_conn_zone "{zone.name}"'.encode()) + 1)  # nginx's log_ctx
        KeyIndex.initialize(shared, record)

    return ZoneSpec(
        zone.name, zone.kind.value, zone.size, index_size(zone.size), initialize, zone.key.source, conflict
    )


class LimitConnZone:
    """A zone's counts (nginx's ngx_http_limit_conn_ctx_t): each method expects the zone's lock held."""

    __slots__ = ("_index", "_memory", "_slab", "name", "shared")

    def __init__(self, shared: SharedZone) -> None:
        self.shared = shared
        self.name = shared.name
        self._memory = shared.memory
        self._slab = Slab(shared.memory, shared.size, initialize=False)
        self._index = KeyIndex(shared, _KEY_AT)

    def take(self, key: bytes, limit: int) -> int:
        """The node of `key` with one more request counted; 0 when the key is at its limit, -1 when the
        zone has no room for a new key."""
        hashed = key_hash(key)
        node = self._index.find(key, hashed)
        if not node:
            node = self._slab.alloc(_NODE_OVERHEAD + len(key))
            if not node:
                to_main_log(
                    ErrorLevel.CRIT, f'ngx_slab_alloc() failed: no memory in limit_conn_zone "{self.name}"'
                )
                return -1
            self._index.insert(node, key, hashed)
            _U16.pack_into(self._memory, node + _COUNT_AT, 1)
            return node
        count = _U16.unpack_from(self._memory, node + _COUNT_AT)[0]
        if count >= limit:
            return 0
        _U16.pack_into(self._memory, node + _COUNT_AT, count + 1)
        return node

    def give_back(self, node: int) -> None:
        """A request counted on `node` ended (ngx_http_limit_conn_cleanup)."""
        count = _U16.unpack_from(self._memory, node + _COUNT_AT)[0] - 1
        if count:
            _U16.pack_into(self._memory, node + _COUNT_AT, count)
            return
        self._index.remove(node)
        self._slab.free(node)


@dataclass(frozen=True, slots=True)
class Limit:
    """One `limit_conn` at a location: its zone, its key and the number of requests a key may have."""

    zone: LimitConnZone
    key: Key
    key_source: str
    connections: int


class _Counted:
    """A request's count on one node, given back when the request ends."""

    __slots__ = ("_node", "_zone")

    def __init__(self, zone: LimitConnZone, node: int) -> None:
        self._zone = zone
        self._node = node

    def __call__(self) -> None:
        zone = self._zone
        zone.shared.lock()
        try:
            zone.give_back(self._node)
        finally:
            zone.shared.unlock()


class LimitConnStep:
    """The module at one location (nginx's pre-access handler)."""

    __slots__ = ("_dry_run", "_level", "_limits", "_status")

    def __init__(self, limits: Sequence[Limit], settings: LimitConnSettings) -> None:
        self._limits = tuple(limits)
        self._level = settings.log_level
        self._status = settings.status
        self._dry_run = settings.dry_run

    def __call__(self, ex: Exchange) -> int:
        if ex.limit_conn_status:
            return NEXT
        counted: list[_Counted] = []
        for limit in self._limits:
            key = key_bytes(limit.key.evaluate(ex))
            if not key:
                continue
            if len(key) > _MAX_KEY:
                shown = key.decode("utf-8", "surrogateescape")
                text = f'the value of the "{limit.key_source}" key is more than 255 bytes: "{shown}"'
                log_request_error(ex, ErrorLevel.ERROR, text)
                continue
            ex.limit_conn_status = LIMIT_CONN_PASSED
            zone = limit.zone
            zone.shared.lock()
            try:
                node = zone.take(key, limit.connections)
            finally:
                zone.shared.unlock()
            if node <= 0:
                if node == 0:
                    dry = ", dry run," if self._dry_run else ""
                    log_request_error(ex, self._level, f'limiting connections{dry} by zone "{zone.name}"')
                for taken in counted:
                    taken()
                return self._refuse(ex)
            counted.append(_Counted(zone, node))
        for taken in counted:
            ex.add_cleanup(taken)
        return NEXT

    def _refuse(self, ex: Exchange) -> int:
        if self._dry_run:
            ex.limit_conn_status = LIMIT_CONN_REJECTED_DRY_RUN
            return NEXT
        ex.limit_conn_status = LIMIT_CONN_REJECTED
        return self._status
