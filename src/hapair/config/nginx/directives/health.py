"""Active health checks, NGINX Plus's syntax (hapair's extension: open-source nginx has no such module,
and its `nginx -t` says `unknown directive "health_check"`):

    health_check [interval=T] [jitter=T] [fails=N] [passes=N] [uri=URI] [port=N] [match=NAME]
                 [mandatory [persistent]];
    match NAME { status 200-399; header H = v; header H ~ re; header ! H; body ~ "re"; }   # http
    match NAME { send "..."; expect ~ "re"; }                                              # stream

`health_check` goes in an http `location` (uri= is http only) or a stream `server`; `match` at the http
or stream level. What the check needs of its group (a `proxy_pass` to an upstream group with a `zone`,
an existing `match`) is checked when the block ends (finish/health.py), as the group and the match may be
defined after the line. Parameters NGINX Plus has and hapair does not implement (`type=grpc`, `udp`,
`keepalive_time`, `require`) are refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..model.health import BodyCondition, HeaderCondition, Match, StatusCondition
from ..model.place import Place
from ..numbers import atoi, parse_time
from ..state import HealthCheckState
from .regex import compile_regex

_UNSUPPORTED = ("type=", "grpc_service=", "grpc_status=", "keepalive_time=")
_MAX_PORT = 65535


def _positive(directive: Directive, arg: str, value: int | None) -> int:
    if not value:
        raise directive.error(f'invalid parameter "{arg}"')
    return value


def _time(directive: Directive, arg: str, text: str, *, zero: bool) -> int:
    value = parse_time(text, seconds=False)
    if value is None or (not zero and value == 0):
        raise directive.error(f'invalid parameter "{arg}"')
    return value


def _parameters(directive: Directive, check: HealthCheckState, *, stream: bool) -> None:
    for arg in directive.args:
        if arg.startswith("interval="):
            check.interval_ms = _time(directive, arg, arg[9:], zero=False)
        elif arg.startswith("jitter="):
            check.jitter_ms = _time(directive, arg, arg[7:], zero=True)
        elif arg.startswith("fails="):
            check.fails = _positive(directive, arg, atoi(arg[6:]))
        elif arg.startswith("passes="):
            check.passes = _positive(directive, arg, atoi(arg[7:]))
        elif arg.startswith("uri=") and not stream:
            check.uri = arg[4:]
            if not check.uri.startswith("/"):
                raise directive.error(f'invalid parameter "{arg}"')
        elif arg.startswith("port="):
            port = atoi(arg[5:])
            if not port or port > _MAX_PORT:
                raise directive.error(f'invalid parameter "{arg}"')
            check.port = port
        elif arg.startswith("match="):
            check.match_name = arg[6:]
        elif arg == "mandatory":
            check.mandatory = True
        elif arg == "persistent":
            check.persistent = True
        elif arg.startswith(_UNSUPPORTED) or arg == "udp":
            raise directive.unsupported(f'the "{arg.partition("=")[0]}" parameter')
        else:
            raise directive.error(f'invalid parameter "{arg}"')
    if check.persistent and not check.mandatory:
        raise directive.error('"persistent" requires "mandatory"')


def http_health_check(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.location is not None and block.http is not None
    check = HealthCheckState(directive.place, location=block.location)
    _parameters(directive, check, stream=False)
    block.http.health_checks.append(check)


def stream_health_check(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.stream_server is not None and block.stream is not None
    check = HealthCheckState(directive.place, stream_server=block.stream_server)
    _parameters(directive, check, stream=True)
    block.stream.health_checks.append(check)


class _MatchReader:
    """The lines of one `match` block, gathered into a `Match`."""

    def __init__(self, name: str, place: Place, *, stream: bool) -> None:
        self.name = name
        self.place = place
        self.stream = stream
        self.statuses: list[StatusCondition] = []
        self.headers: list[HeaderCondition] = []
        self.bodies: list[BodyCondition] = []
        self.send = b""
        self.expect: bytes | None = None
        self.expect_pattern: re.Pattern[bytes] | None = None

    def line(self, words: list[str], place: Place) -> None:
        handlers: dict[str, Callable[[list[str], Place], None]] = (
            {"send": self._send, "expect": self._expect}
            if self.stream
            else {"status": self._status, "header": self._header, "body": self._body}
        )
        handler = handlers.get(words[0])
        if handler is not None:
            handler(words[1:], place)
        elif words[0] == "require" and not self.stream:
            raise ConfigError('hapair does not support the "require" condition in a "match" block', place)
        else:
            raise ConfigError(f'unknown directive "{words[0]}" in match', place)

    def _status(self, args: list[str], place: Place) -> None:
        negated = bool(args) and args[0] == "!"
        codes = args[1:] if negated else args
        if not codes:
            raise ConfigError('invalid number of arguments in "status" directive', place)
        ranges = tuple(_status_range(code, place) for code in codes)
        self.statuses.append(StatusCondition(ranges, negated))

    def _header(self, args: list[str], place: Place) -> None:
        if len(args) == 1:
            self.headers.append(HeaderCondition(args[0], ""))
        elif len(args) == 2 and args[0] == "!":
            self.headers.append(HeaderCondition(args[1], "!"))
        elif len(args) == 3 and args[1] in ("=", "!="):
            self.headers.append(HeaderCondition(args[0], args[1], args[2]))
        elif len(args) == 3 and args[1] in ("~", "!~"):
            pattern = compile_regex(args[2], caseless=False, place=place)
            self.headers.append(HeaderCondition(args[0], args[1], args[2], pattern))
        else:
            raise ConfigError('invalid "header" condition in match', place)

    def _body(self, args: list[str], place: Place) -> None:
        if len(args) != 2 or args[0] not in ("~", "!~"):
            raise ConfigError('invalid "body" condition in match', place)
        pattern = compile_regex(args[1], caseless=False, place=place)
        self.bodies.append(BodyCondition(pattern, args[0] == "!~"))

    def _send(self, args: list[str], place: Place) -> None:
        if len(args) != 1:
            raise ConfigError('invalid number of arguments in "send" directive', place)
        self.send = args[0].encode("utf-8", "surrogateescape")

    def _expect(self, args: list[str], place: Place) -> None:
        if len(args) == 2 and args[0] == "~":
            compile_regex(args[1], caseless=False, place=place)  # its error, worded as for every regex
            self.expect_pattern = re.compile(args[1].encode("utf-8", "surrogateescape"))
        elif len(args) == 1:
            self.expect = args[0].encode("utf-8", "surrogateescape")
        else:
            raise ConfigError('invalid number of arguments in "expect" directive', place)

    def built(self) -> Match:
        return Match(
            self.name,
            self.place,
            tuple(self.statuses),
            tuple(self.headers),
            tuple(self.bodies),
            self.send,
            self.expect,
            self.expect_pattern,
        )


def _status_range(code: str, place: Place) -> tuple[int, int]:
    low_text, dash, high_text = code.partition("-")
    low, high = atoi(low_text), atoi(high_text) if dash else atoi(low_text)
    if low is None or high is None or not 100 <= low <= high <= 999:
        raise ConfigError(f'invalid status "{code}" in match', place)
    return low, high


def _match(
    block: Block, directive: Directive, reading: Reading, matches: dict[str, Match], *, stream: bool
) -> None:
    name = directive.args[0]
    if name in matches:
        raise directive.error(f'duplicate match "{name}"')
    reader = _MatchReader(name, directive.place, stream=stream)
    reading.parse_lines(reader.line)
    matches[name] = reader.built()


def http_match(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.http is not None
    _match(block, directive, reading, block.http.matches, stream=False)


def stream_match(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.stream is not None
    _match(block, directive, reading, block.stream.matches, stream=True)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("hapair_http_upstream_hc_module", "health_check"): http_health_check,
    ("hapair_http_upstream_hc_module", "match"): http_match,
    ("hapair_stream_upstream_hc_module", "health_check"): stream_health_check,
    ("hapair_stream_upstream_hc_module", "match"): stream_match,
}
