"""Keywords: `bfd_instance` (keepalived's bfd/bfd_parser.c, with vrrp_track.c's and check_bfd.c's readings).

keepalived's BFD, VRRP and checker processes each read a `bfd_instance` block their own way (see
model/bfd.py). hapair reads the block once for all three: each process's view of the block is followed
separately, and a keyword acts only for the processes that read it (the session settings for the BFD
process, `weight` for the VRRP process). Only when every process has given the block up is the rest of it
skipped, as each keepalived process skips it.

Differences from keepalived 2.2.7, all bugs there: a `bfd_instance` without a name is a missing parameter
(keepalived crashes); the messages name the neighbour keyword as it was spelt in the block (keepalived
compares the address with "neighbour_ip", so always says "neighbor"); the two addresses of the "not of the
same family" message are both printed (keepalived prints one of them twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..engine import Keyword, KeywordTable, Parser, ReadingState, Words
from ..model.bfd import (
    BFD_CONTROL_HOPLIMIT,
    BFD_CONTROL_TTL,
    BFD_NAME_MAX,
    BfdInstance,
)
from ..model.checkers import ip_text
from ..model.vrrp import VrrpTrackedBfd
from ..numbers import UINT_MAX
from .checkers import parse_ip

TTL_MAX = 255
MAX_SENSIBLE_MS = 10_000
EVENT_PROCESSES = ("vrrp", "checker")


@dataclass
class _BfdReading(ReadingState):
    """One reading's state: the block being read as each process keeps it (None: that process dropped it)."""

    session: BfdInstance | None = None
    vrrp: VrrpTrackedBfd | None = None
    checker: str | None = None
    events: set[str] = field(default_factory=set)
    neighbor_word: str = "neighbor"

    # -- the block -----------------------------------------------------------------------------------
    def start(self, parser: Parser, words: Words) -> None:
        name = words.arg(1)
        self.events = set()
        self.neighbor_word = "neighbor"
        self.session = self._accept_session(parser, name)
        self.vrrp = self._accept_vrrp(parser, name)
        self.checker = self._accept_checker(parser, name)
        self._skip_if_dropped(parser, need_block_start=True)

    @staticmethod
    def _accept_session(parser: Parser, name: str) -> BfdInstance | None:
        """keepalived's BFD process (`alloc_bfd`)."""
        sessions = parser.config.bfd.sessions
        if len(name) > BFD_NAME_MAX:
            parser.error(
                f"Configuration error: BFD instance {name} name too long (maximum length is "
                f"{BFD_NAME_MAX} characters) - ignoring"
            )
            return None
        if any(b.name == name for b in sessions):
            parser.error(f"Configuration error: BFD instance {name} already configured - ignoring")
            return None
        sessions.append(BfdInstance(name, defined_at=parser.place()))
        return sessions[-1]

    @staticmethod
    def _accept_vrrp(parser: Parser, name: str) -> VrrpTrackedBfd | None:
        """keepalived's VRRP process (`alloc_vrrp_tracked_bfd`)."""
        known = parser.config.vrrp.tracked_bfds
        if len(name) > BFD_NAME_MAX:
            parser.error(f"BFD name {name} too long")
            return None
        if any(b.name == name for b in known):
            parser.error(f"BFD {name} already specified")
            return None
        known.append(VrrpTrackedBfd(name))
        return known[-1]

    @staticmethod
    def _accept_checker(parser: Parser, name: str) -> str | None:
        """keepalived's checker process (`bfd_checker_handler`)."""
        known = parser.config.checkers.tracked_bfds
        if name in known:
            parser.error(f"BFD {name} already specified")
            return None
        known.append(name)
        return name

    def _skip_if_dropped(self, parser: Parser, *, need_block_start: bool) -> None:
        if self.session is None and self.vrrp is None and self.checker is None:
            parser.skip_block(need_block_start)

    def _drop_session(self, parser: Parser) -> None:
        if self.session is not None:
            parser.config.bfd.sessions.remove(self.session)
            self.session = None

    def end(self, parser: Parser) -> None:
        if self.session is not None:
            self._end_session(parser, self.session)
        if self.events:
            if self.vrrp is not None and "vrrp" not in self.events:
                parser.config.vrrp.tracked_bfds.remove(self.vrrp)
            if self.checker is not None and "checker" not in self.events:
                parser.config.checkers.tracked_bfds.remove(self.checker)
        self.session = self.vrrp = self.checker = None

    def _end_session(self, parser: Parser, bfd: BfdInstance) -> None:
        neighbor = self.neighbor_word
        if bfd.neighbor is None:
            parser.error(
                f"Configuration error: BFD instance {bfd.name} has no {neighbor} address set, "
                "disabling instance"
            )
            self._drop_session(parser)
            return
        if bfd.source is not None and bfd.source.version != bfd.neighbor.version:
            parser.error(
                f"Configuration error: BFD instance {bfd.name} source address {ip_text(bfd.source)} and "
                f"{neighbor} address {ip_text(bfd.neighbor)} are not of the same family, disabling instance"
            )
            self._drop_session(parser)
            return
        if self._same_addresses(bfd, parser.config.bfd.sessions):
            if bfd.source is not None:
                parser.error(
                    f"Configuration error: BFD instance {bfd.name} has duplicate source/{neighbor} address "
                    f"{ip_text(bfd.source)}/{ip_text(bfd.neighbor)}, ignoring instance"
                )
            else:
                parser.error(
                    f"Configuration error: BFD instance {bfd.name} has duplicate {neighbor} address "
                    f"{ip_text(bfd.neighbor)}, ignoring instance"
                )
            self._drop_session(parser)
            return
        if not bfd.ttl:
            bfd.ttl = BFD_CONTROL_TTL if bfd.neighbor.version == 4 else BFD_CONTROL_HOPLIMIT
        if bfd.max_hops > bfd.ttl:
            parser.error(f"BFD instance {bfd.name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit")
            bfd.max_hops = bfd.ttl
        bfd.to_vrrp = not self.events or "vrrp" in self.events
        bfd.to_checker = not self.events or "checker" in self.events

    @staticmethod
    def _same_addresses(bfd: BfdInstance, sessions: list[BfdInstance]) -> bool:
        """keepalived's `find_bfd_by_addr`: another session with this neighbour and a clashing source."""
        return any(
            other is not bfd
            and other.neighbor == bfd.neighbor
            and (other.source is None or bfd.source is None or other.source == bfd.source)
            for other in sessions
        )

    # -- BFD process keywords ------------------------------------------------------------------------
    def neighbor_ip(self, parser: Parser, words: Words) -> None:
        if (bfd := self.session) is None:
            return
        self.neighbor_word = "neighbour" if words[0] == "neighbour_ip" else "neighbor"
        address = parse_ip(words.arg(1))
        if address is None:
            parser.error(
                f"Configuration error: BFD instance {bfd.name} has malformed {self.neighbor_word} address "
                f"{words[1]}, ignoring instance"
            )
            self._drop_session(parser)
            self._skip_if_dropped(parser, need_block_start=False)
            return
        bfd.neighbor = address

    def source_ip(self, parser: Parser, words: Words) -> None:
        if (bfd := self.session) is None:
            return
        address = parse_ip(words.arg(1))
        if address is None:
            parser.error(
                f"Configuration error: BFD instance {bfd.name} has malformed source address "
                f"{words[1]}, ignoring"
            )
        else:
            bfd.source = address

    def passive(self, parser: Parser, words: Words) -> None:
        if self.session is not None:
            self.session.passive = True

    def max_hops(self, parser: Parser, words: Words) -> None:
        if (bfd := self.session) is None:
            return
        value = parser.read_int(words.arg(1), -1, TTL_MAX)
        if value is None:
            parser.error(
                f"Configuration error: BFD instance {bfd.name} max_hops value {words[1]} not valid "
                f"(must be in range [-1-{TTL_MAX}]), ignoring"
            )
        else:
            bfd.max_hops = value & 0xFF  # keepalived keeps it in 8 bits: -1 is 255, no hop limit

    # -- VRRP process keyword --------------------------------------------------------------------------
    def weight(self, parser: Parser, words: Words) -> None:
        if (tracked := self.vrrp) is None:
            return
        value = parser.read_int(words.arg(1), -253, 253, lenient=True)
        if value is None:
            parser.error(
                f"Configuration error: BFD instance {tracked.name} weight value {words[1]} not valid "
                "(must be in range [-253-253]), ignoring"
            )
        else:
            tracked.weight = value
        if len(words) >= 3:
            if words[2] != "reverse":
                parser.error(
                    f"Configuration error: BFD instance {tracked.name} unknown weight option {words[2]}"
                )
            else:
                tracked.weight_reverse = True

    @staticmethod
    def interval(field_name: str, low_ms: int) -> _Method:
        """min_rx, min_tx, idle_tx: milliseconds with 3 decimals, kept in microseconds."""
        keyword = field_name.removesuffix("_us")
        high_ms = UINT_MAX // 1000

        def handler(reading: _BfdReading, parser: Parser, words: Words) -> None:
            if (bfd := reading.session) is None:
                return
            value = parser.read_decimal(words.arg(1), low_ms * 1000, high_ms * 1000, 3)
            if value is None:
                parser.error(
                    f"Configuration error: BFD instance {bfd.name} {keyword} value {words[1]} is not valid "
                    f"(must be in range [{low_ms}-{high_ms}]), ignoring"
                )
                return
            setattr(bfd, field_name, value)
            if value > MAX_SENSIBLE_MS * 1000:
                parser.log(
                    f"Configuration warning: BFD instance {bfd.name} {keyword} value {words[1]} is larger "
                    f"than max sensible ({MAX_SENSIBLE_MS})"
                )

        return handler

    @staticmethod
    def small_unsigned(field_name: str, label: str) -> _Method:
        """multiplier, ttl/hoplimit: 1..255."""

        def handler(reading: _BfdReading, parser: Parser, words: Words) -> None:
            if (bfd := reading.session) is None:
                return
            value = parser.read_unsigned(words.arg(1), 1, TTL_MAX)
            if value is None:
                parser.error(
                    f"Configuration error: BFD instance {bfd.name} {label} value {words[1]} not valid "
                    f"(must be in range [1-{TTL_MAX}]), ignoring"
                )
            else:
                setattr(bfd, field_name, value)

        return handler

    # -- all processes ---------------------------------------------------------------------------------
    def event_process(self, parser: Parser, words: Words) -> None:
        self.events.add(words[0])


_Method = Callable[[_BfdReading, Parser, Words], None]


def roots() -> list[Keyword]:
    r, on = _BfdReading, _BfdReading.bind
    ttl = on(r.small_unsigned("ttl", "ttl/hoplimit"))
    table = KeywordTable()
    for name, handler in (
        ("source_ip", on(r.source_ip)),
        ("neighbor_ip", on(r.neighbor_ip)),
        ("neighbour_ip", on(r.neighbor_ip)),
        ("min_rx", on(r.interval("min_rx_us", 1))),
        ("min_tx", on(r.interval("min_tx_us", 1))),
        ("idle_tx", on(r.interval("idle_tx_us", 1000))),
        ("multiplier", on(r.small_unsigned("multiplier", "multiplier"))),
        ("passive", on(r.passive)),
        ("ttl", ttl),
        ("hoplimit", ttl),
        ("max_hops", on(r.max_hops)),
        ("weight", on(r.weight)),
        *((process, on(r.event_process)) for process in EVENT_PROCESSES),
    ):
        table.add(Keyword(name, handler))
    return [Keyword("bfd_instance", on(r.start), sub=table, close=on(r.end))]
