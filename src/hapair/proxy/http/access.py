"""The access module (ngx_http_access_module) and nginx's access phase.

`AccessRulesCheck` is `allow`/`deny`: the client's address (the request's, after realip) against the
rules of its family in order, the first match deciding; an IPv4-mapped IPv6 address is checked against the
IPv4 rules when there are some. `AccessPhase` runs the location's checks in nginx's order (the access
module's, then auth_basic's) as ngx_http_core_access_phase and ngx_http_core_post_access_phase combine
them: with `satisfy all` the first refusal answers; with `satisfy any` the first check that lets the
request through ends the phase, and a refusal answers only when none did (401 rather than 403 when a check
asked for credentials). A refusal by a rule logs nginx's `access forbidden by rule`. auth_request comes
last (see `auth_request`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hapair.config.nginx.model.access import AccessRule, AccessRules, Satisfy
from hapair.config.nginx.model.logging import ErrorLevel

from .exchange import DONE, NEXT
from .logcontext import log_request_error
from .response import ResponseHead

if TYPE_CHECKING:
    from .auth_request import AuthRequestCheck
    from .exchange import Exchange


class Verdict:
    """What an access check says of a request: `status` 0 lets it through; 401 comes with the
    `WWW-Authenticate` value to send."""

    __slots__ = ("challenge", "status")

    def __init__(self, status: int, challenge: bytes | None = None) -> None:
        self.status = status
        self.challenge = challenge

    def head(self) -> ResponseHead:
        head = ResponseHead(self.status)
        if self.challenge is not None:
            head.add(b"WWW-Authenticate", self.challenge)
        return head


ALLOWED = Verdict(0)
FORBIDDEN = Verdict(403)
SERVER_ERROR = Verdict(500)


Check = Callable[["Exchange"], Verdict | None]  # None: the check has nothing to say

_V4_MAPPED = 0xFFFF << 32
_V4_MAPPED_MASK = ((1 << 96) - 1) << 32
_FORBIDDEN_BY_RULE = "access forbidden by rule"


class AccessRulesCheck:
    """`allow` and `deny` at one location; `log_denial` is false under `satisfy any`, where the phase
    logs the refusal once it is final."""

    __slots__ = ("_inet", "_inet6", "_log_denial", "_unix")

    def __init__(self, rules: AccessRules, *, log_denial: bool) -> None:
        self._inet = _compiled(rules.inet)
        self._inet6 = _compiled(rules.inet6)
        self._unix = tuple(rule.deny for rule in rules.unix)
        self._log_denial = log_denial

    def __call__(self, ex: Exchange) -> Verdict | None:
        packed = ex.binary_remote_addr.encode("latin-1")
        if not packed:
            return self._found(ex, self._unix[0]) if self._unix else None
        address = int.from_bytes(packed, "big")
        if len(packed) == 4:
            return self._match(ex, self._inet, address) if self._inet else None
        if self._inet and address & _V4_MAPPED_MASK == _V4_MAPPED:
            return self._match(ex, self._inet, address & 0xFFFFFFFF)
        return self._match(ex, self._inet6, address) if self._inet6 else None

    def _match(self, ex: Exchange, rules: tuple[tuple[int, int, bool], ...], address: int) -> Verdict | None:
        for mask, network, deny in rules:
            if address & mask == network:
                return self._found(ex, deny)
        return None

    def _found(self, ex: Exchange, deny: bool) -> Verdict:
        if not deny:
            return ALLOWED
        if self._log_denial:
            log_request_error(ex, ErrorLevel.ERROR, _FORBIDDEN_BY_RULE)
        return FORBIDDEN


def _compiled(rules: tuple[AccessRule, ...]) -> tuple[tuple[int, int, bool], ...]:
    return tuple((rule.cidr.mask, rule.cidr.address, rule.deny) for rule in rules)


class AccessPhase:
    """The location's access checks, combined as its `satisfy` says; a step of its route. auth_request,
    the last check, answers later: the phase waits for its subrequest."""

    __slots__ = ("_any", "_auth", "_checks")

    def __init__(
        self, checks: Sequence[Check], satisfy: Satisfy, auth: AuthRequestCheck | None = None
    ) -> None:
        self._checks = tuple(checks)
        self._any = satisfy is Satisfy.ANY
        self._auth = auth

    def __call__(self, ex: Exchange) -> int:
        if ex.subrequest:
            return NEXT  # ngx_http_core_access_phase: a subrequest skips the phase
        refused: Verdict | None = None
        for check in self._checks:
            verdict = check(ex)
            if verdict is None:
                continue
            if verdict.status == 0:
                if self._any:
                    return NEXT
                continue
            if not self._any or verdict.status not in (401, 403):
                return _refuse(ex, verdict)
            refused = _kept(refused, verdict)
        if self._auth is not None:
            self._auth.start(ex, lambda verdict: self._after_auth(ex, verdict, refused))
            return DONE
        return _conclude(ex, refused)

    def _after_auth(self, ex: Exchange, verdict: Verdict, refused: Verdict | None) -> None:
        if verdict.status == 0:
            ex.resume()
        elif not self._any or verdict.status not in (401, 403):
            _refuse(ex, verdict)
        elif _conclude(ex, _kept(refused, verdict)) == NEXT:
            ex.resume()


def _kept(refused: Verdict | None, verdict: Verdict) -> Verdict:
    """Under `satisfy any`, the refusal that answers if nothing lets the request through: a 401 wins."""
    return verdict if refused is None or refused.status != 401 else refused


def _conclude(ex: Exchange, refused: Verdict | None) -> int:
    if refused is None:
        return NEXT
    if refused.status == 403:
        log_request_error(ex, ErrorLevel.ERROR, _FORBIDDEN_BY_RULE)
    return _refuse(ex, refused)


def _refuse(ex: Exchange, verdict: Verdict) -> int:
    ex.finalize(verdict.status, verdict.head())
    return DONE
