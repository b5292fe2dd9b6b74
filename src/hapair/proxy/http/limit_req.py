"""The limit_req module (ngx_http_limit_req_module): requests per key at a `rate`, as nginx's leaky bucket
counts them, in a zone every worker shares.

A key's state is its `excess` (in thousandths of a request) and the millisecond it was last counted: a
request adds 1000 less what the rate drained since. A request whose excess would pass `burst` is refused
(`limit_req_status`, 503 by default: `limiting requests, excess: ...`); one past `delay` (0 by default,
none with `nodelay`) waits until the excess beyond the delay has drained (`delaying request, ...`), the
others pass. With several `limit_req`, each is looked up in turn and counted only once all let the
request through; the longest delay applies. `limit_req_dry_run` logs and sets `$limit_req_status` without
refusing or delaying. A request is limited once, internal redirects included.

The zone holds nginx's nodes in nginx's slab pool, so that it holds as many keys as nginx's: a new key
first drops up to two states unused for a minute whose excess has drained, and when the zone is full, the
least recently used state (`could not allocate node` when even that gives no room: the request is refused).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hapair.config.nginx.model.access import LimitReqSettings, LimitZone
from hapair.config.nginx.model.logging import ErrorLevel

from ..errorlog import to_main_log
from ..shm import SharedZone, ZoneSpec
from ..slab import Slab
from .exchange import DONE, NEXT
from .keyindex import NODE_HEAD, KeyIndex, index_size, key_hash
from .limit_statuses import (
    LIMIT_REQ_DELAYED,
    LIMIT_REQ_DELAYED_DRY_RUN,
    LIMIT_REQ_PASSED,
    LIMIT_REQ_REJECTED,
    LIMIT_REQ_REJECTED_DRY_RUN,
)
from .logcontext import log_request_error

if TYPE_CHECKING:
    from .exchange import Exchange

# nginx's sizes, which decide how many states a zone holds: sizeof(ngx_http_limit_req_shctx_t), and a
# node's header (the red-black tree node up to `color`, then ngx_http_limit_req_node_t up to `data`)
_SHARED_CONTEXT = 80
_NODE_OVERHEAD = 32 + 48
_MAX_KEY = 65535
_STALE_MS = 60000

# hapair's node: the index's head, then the use count, the LRU links, `last` and `excess`; then the key
_NODE = struct.Struct("<IIHHIIIQQ")
_COUNT_AT = NODE_HEAD.size + 2
_LRU_AT = _COUNT_AT + 4
_LAST_AT = _LRU_AT + 8
_EXCESS_AT = _LAST_AT + 8
_KEY_AT = _NODE.size
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_QUEUE = struct.Struct("<II")  # the record: most recently used node, least recently used

# a lookup's answer (DECLINED: no limit had a key)
OK, AGAIN, BUSY, ERROR, DECLINED = 0, 1, 2, 3, -1


def now_ms() -> int:
    """nginx's ngx_current_msec: milliseconds of the system's monotonic clock, the same in every process."""
    return time.monotonic_ns() // 1_000_000


def zone_spec(zone: LimitZone) -> ZoneSpec:
    def conflict(previous: str) -> str:
        return (
            f'limit_req "{zone.name}" uses the "{zone.key.source}" key while previously it used the '
            f'"{previous}" key'
        )

    def initialize(shared: SharedZone) -> None:
        slab = Slab(shared.memory, shared.size, initialize=True)
        record = slab.alloc(_SHARED_CONTEXT)
        slab.alloc(len(f' in limit_req zone "{zone.name}"'.encode()) + 1)  # nginx's log_ctx
        _QUEUE.pack_into(shared.memory, record, 0, 0)
        KeyIndex.initialize(shared, record)

    return ZoneSpec(
        zone.name, zone.kind.value, zone.size, index_size(zone.size), initialize, zone.key.source, conflict
    )


class LimitReqZone:
    """A zone's states (nginx's ngx_http_limit_req_ctx_t): each method expects the zone's lock held."""

    __slots__ = ("_index", "_memory", "_slab", "name", "rate", "shared")

    def __init__(self, shared: SharedZone, rate: int) -> None:
        self.shared = shared
        self.name = shared.name
        self.rate = rate  # thousandths of a request per second
        self._memory = shared.memory
        self._slab = Slab(shared.memory, shared.size, initialize=False)
        self._index = KeyIndex(shared, _KEY_AT)

    def lookup(self, key: bytes, burst: int, *, account: bool, now: int) -> tuple[int, int, int]:
        """ngx_http_limit_req_lookup: (OK, AGAIN, BUSY or ERROR, the excess, the node held for a later
        `account` when AGAIN)."""
        hashed = key_hash(key)
        node = self._index.find(key, hashed)
        if node:
            self._touch(node)
            excess = self._drained(node, now)
            if excess > burst:
                return BUSY, excess, 0
            if account:
                self._count(node, excess, now)
                return OK, excess, 0
            self._set_uses(node, self._uses(node) + 1)
            return AGAIN, excess, node
        self._expire(1, now)
        node = self._slab.alloc(_NODE_OVERHEAD + len(key))
        if not node:
            self._expire(0, now)
            node = self._slab.alloc(_NODE_OVERHEAD + len(key))
            if not node:
                to_main_log(ErrorLevel.ALERT, f'could not allocate node in limit_req zone "{self.name}"')
                return ERROR, 0, 0
        self._index.insert(node, key, hashed)
        _U64.pack_into(self._memory, node + _EXCESS_AT, 0)
        self._queue_first(node)
        if account:
            _U64.pack_into(self._memory, node + _LAST_AT, now)
            self._set_uses(node, 0)
            return OK, 0, 0
        _U64.pack_into(self._memory, node + _LAST_AT, 0)
        self._set_uses(node, 1)
        return AGAIN, 0, node

    def account(self, node: int, now: int) -> int:
        """A held node counts its request (ngx_http_limit_req_account): its new excess."""
        excess = self._drained(node, now)
        self._count(node, excess, now)
        self._set_uses(node, self._uses(node) - 1)
        return excess

    def release(self, node: int) -> None:
        """A held node whose request was refused further on (ngx_http_limit_req_unlock)."""
        self._set_uses(node, self._uses(node) - 1)

    def _drained(self, node: int, now: int) -> int:
        """The node's excess with this request: what the rate drained since `last` taken off, 1000 added."""
        elapsed = _elapsed(now, _U64.unpack_from(self._memory, node + _LAST_AT)[0])
        excess = _U64.unpack_from(self._memory, node + _EXCESS_AT)[0] - self.rate * elapsed // 1000 + 1000
        return max(0, excess)  # type: ignore[no-any-return]

    def _count(self, node: int, excess: int, now: int) -> None:
        _U64.pack_into(self._memory, node + _EXCESS_AT, excess)
        if _elapsed(now, _U64.unpack_from(self._memory, node + _LAST_AT)[0]):
            _U64.pack_into(self._memory, node + _LAST_AT, now)

    def _uses(self, node: int) -> int:
        return _U32.unpack_from(self._memory, node + _COUNT_AT)[0]  # type: ignore[no-any-return]

    def _set_uses(self, node: int, uses: int) -> None:
        _U32.pack_into(self._memory, node + _COUNT_AT, uses)

    def _expire(self, forced: int, now: int) -> None:
        """ngx_http_limit_req_expire: from the least recently used, drop up to two states unused for a
        minute whose excess has drained; `forced` 0 first drops the least recently used one whatever it
        is (unless a request holds it)."""
        round_ = forced
        while round_ < 3:
            _, last_node = _QUEUE.unpack_from(self._memory, self._index.record)
            if not last_node or self._uses(last_node):
                return
            if round_ != 0:
                elapsed = abs(_signed(now - _U64.unpack_from(self._memory, last_node + _LAST_AT)[0]))
                if elapsed < _STALE_MS:
                    return
                if (
                    _U64.unpack_from(self._memory, last_node + _EXCESS_AT)[0] - self.rate * elapsed // 1000
                    > 0
                ):
                    return
            round_ += 1
            self._queue_remove(last_node)
            self._index.remove(last_node)
            self._slab.free(last_node)

    # the queue of nodes, most recently used first (nginx's sh->queue)

    def _touch(self, node: int) -> None:
        self._queue_remove(node)
        self._queue_first(node)

    def _queue_first(self, node: int) -> None:
        record = self._index.record
        first, last = _QUEUE.unpack_from(self._memory, record)
        _QUEUE.pack_into(self._memory, node + _LRU_AT, 0, first)
        if first:
            _U32.pack_into(self._memory, first + _LRU_AT, node)
        _QUEUE.pack_into(self._memory, record, node, last or node)

    def _queue_remove(self, node: int) -> None:
        record = self._index.record
        before, after = _QUEUE.unpack_from(self._memory, node + _LRU_AT)
        first, last = _QUEUE.unpack_from(self._memory, record)
        if before:
            _U32.pack_into(self._memory, before + _LRU_AT + 4, after)
        else:
            first = after
        if after:
            _U32.pack_into(self._memory, after + _LRU_AT, before)
        else:
            last = before
        _QUEUE.pack_into(self._memory, record, first, last)


def _signed(value: int) -> int:
    """A difference of two unsigned 64-bit milliseconds, as nginx's ngx_msec_int_t sees it."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _elapsed(now: int, last: int) -> int:
    """Milliseconds since `last`: a clock gone back more than a minute counts 1, less than that 0."""
    elapsed = _signed(now - last)
    if elapsed < -_STALE_MS:
        return 1
    return max(0, elapsed)


class Key(Protocol):
    def evaluate(self, ex: Exchange) -> str: ...


@dataclass(frozen=True, slots=True)
class Limit:
    """One `limit_req` at a location: its zone, its key, `burst` and `delay` in thousandths."""

    zone: LimitReqZone
    key: Key
    key_source: str
    burst: int
    delay: int


def key_bytes(value: str) -> bytes:
    """A key's bytes: one per character of what came from the wire, UTF-8 for the configuration's text
    that does not fit in one."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


class LimitReqStep:
    """The module at one location (nginx's pre-access handler)."""

    __slots__ = ("_delay_level", "_dry_run", "_level", "_limits", "_status")

    def __init__(self, limits: Sequence[Limit], settings: LimitReqSettings) -> None:
        self._limits = tuple(limits)
        self._level = settings.log_level
        self._delay_level = _one_level_lower(settings.log_level)
        self._status = settings.status
        self._dry_run = settings.dry_run

    def __call__(self, ex: Exchange) -> int:
        if ex.limit_req_status:
            return NEXT
        limits = self._limits
        last = len(limits) - 1
        held: list[tuple[int, int]] = []  # (the limit's index, its node) for each AGAIN
        rc, excess, chosen = DECLINED, 0, limits[0]
        now = now_ms()
        for number, limit in enumerate(limits):
            chosen = limit
            key = key_bytes(limit.key.evaluate(ex))
            if not key:
                continue
            if len(key) > _MAX_KEY:
                text = f'the value of the "{limit.key_source}" key is more than 65535 bytes: "{_shown(key)}"'
                log_request_error(ex, ErrorLevel.ERROR, text)
                continue
            zone = limit.zone
            zone.shared.lock()
            try:
                rc, excess, node = zone.lookup(key, limit.burst, account=number == last, now=now)
            finally:
                zone.shared.unlock()
            if rc != AGAIN:
                break
            held.append((number, node))
        if rc == DECLINED:
            return NEXT
        if rc in (BUSY, ERROR):
            return self._refuse(ex, rc, excess, chosen, held)
        if rc == AGAIN:
            excess = 0
        delay, excess, chosen = self._account(held, excess, chosen, now)
        if not delay:
            ex.limit_req_status = LIMIT_REQ_PASSED
            return NEXT
        dry = ", dry run" if self._dry_run else ""
        text = f'delaying request{dry}, excess: {_excess(excess)}, by zone "{chosen.zone.name}"'
        log_request_error(ex, self._delay_level, text)
        if self._dry_run:
            ex.limit_req_status = LIMIT_REQ_DELAYED_DRY_RUN
            return NEXT
        ex.limit_req_status = LIMIT_REQ_DELAYED
        ex.watching_client = _always
        handle = asyncio.get_running_loop().call_later(delay / 1000, _wake, ex)
        ex.add_cleanup(handle.cancel)
        return DONE

    def _refuse(self, ex: Exchange, rc: int, excess: int, chosen: Limit, held: list[tuple[int, int]]) -> int:
        if rc == BUSY:
            dry = ", dry run" if self._dry_run else ""
            text = f'limiting requests{dry}, excess: {_excess(excess)} by zone "{chosen.zone.name}"'
            log_request_error(ex, self._level, text)
        for number, node in reversed(held):
            zone = self._limits[number].zone
            zone.shared.lock()
            try:
                zone.release(node)
            finally:
                zone.shared.unlock()
        if self._dry_run:
            ex.limit_req_status = LIMIT_REQ_REJECTED_DRY_RUN
            return NEXT
        ex.limit_req_status = LIMIT_REQ_REJECTED
        return self._status

    def _account(
        self, held: list[tuple[int, int]], excess: int, chosen: Limit, now: int
    ) -> tuple[int, int, Limit]:
        """ngx_http_limit_req_account: the held nodes count the request; the longest delay, with the
        excess and the limit it comes from."""
        longest = 0 if excess <= chosen.delay else (excess - chosen.delay) * 1000 // chosen.zone.rate
        for number, node in reversed(held):
            limit = self._limits[number]
            zone = limit.zone
            zone.shared.lock()
            try:
                counted = zone.account(node, now)
            finally:
                zone.shared.unlock()
            if counted <= limit.delay:
                continue
            delay = (counted - limit.delay) * 1000 // zone.rate
            if delay > longest:
                longest, excess, chosen = delay, counted, limit
        return longest, excess, chosen


def _excess(excess: int) -> str:
    return f"{excess // 1000}.{excess % 1000:03d}"


def _shown(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


def _one_level_lower(level: ErrorLevel) -> ErrorLevel:
    """nginx logs a delay one level below a refusal (info stays info)."""
    lower = {ErrorLevel.ERROR: ErrorLevel.WARN, ErrorLevel.WARN: ErrorLevel.NOTICE}
    return lower.get(level, ErrorLevel.INFO)


def _always() -> bool:
    return True


def _wake(ex: Exchange) -> None:
    """The delay is over: the request goes on (a client that goes now is the content handler's to see)."""
    ex.watching_client = None
    ex.resume()
