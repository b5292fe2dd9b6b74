"""`allow` and `deny` in a stream server (ngx_stream_access_module), pure: the client's address against the
rules of its family in order, the first match deciding; an IPv4-mapped IPv6 address is checked against
the IPv4 rules when there are some; a unix socket client against the `unix:` rules. No match lets the
session through. The session logs nginx's `access forbidden by rule` and ends with 403 on a denial."""

from __future__ import annotations

import socket

from hapair.config.nginx.model.access import AccessRule, AccessRules

_V4_MAPPED = 0xFFFF << 32
_V4_MAPPED_MASK = ((1 << 96) - 1) << 32


class AccessRulesCheck:
    """The rules of one server, made ready."""

    __slots__ = ("_inet", "_inet6", "_unix")

    def __init__(self, rules: AccessRules) -> None:
        self._inet = _compiled(rules.inet)
        self._inet6 = _compiled(rules.inet6)
        self._unix = tuple(rule.deny for rule in rules.unix)

    def denies(self, family: int, packed: bytes) -> bool:
        """Whether a client of `family` at `packed` (its address's bytes) is refused."""
        if family == socket.AF_UNIX:
            return bool(self._unix) and self._unix[0]
        address = int.from_bytes(packed, "big")
        if family == socket.AF_INET:
            return _first_denies(self._inet, address)
        if self._inet and address & _V4_MAPPED_MASK == _V4_MAPPED:
            return _first_denies(self._inet, address & 0xFFFFFFFF)
        return _first_denies(self._inet6, address)


def _compiled(rules: tuple[AccessRule, ...]) -> tuple[tuple[int, int, bool], ...]:
    return tuple((rule.cidr.mask, rule.cidr.address, rule.deny) for rule in rules)


def _first_denies(rules: tuple[tuple[int, int, bool], ...], address: int) -> bool:
    for mask, network, deny in rules:
        if address & mask == network:
            return deny
    return False
