"""The merges of the realip, access, auth_basic, auth_request, limit_req and limit_conn modules and of the
core's `satisfy` (each module's merge_loc_conf), and the zones their `*_zone` directives declared.

A level takes its parent's list of `set_real_ip_from`, of `allow`/`deny`, of `limit_req` or of
`limit_conn` only when it has none of its own; every other value is the nearest one set, else nginx's
default."""

from __future__ import annotations

import socket

from ..access_fields import (
    ACCESS_RULES,
    AUTH_BASIC,
    AUTH_BASIC_USER_FILE,
    AUTH_REQUEST,
    AUTH_REQUEST_SET,
    LIMIT_CONN,
    LIMIT_CONN_DRY_RUN,
    LIMIT_CONN_LOG_LEVEL,
    LIMIT_CONN_STATUS,
    LIMIT_REQ,
    LIMIT_REQ_DRY_RUN,
    LIMIT_REQ_LOG_LEVEL,
    LIMIT_REQ_STATUS,
    REAL_IP_HEADER,
    REAL_IP_RECURSIVE,
    SATISFY,
    SET_REAL_IP_FROM,
    RealIpHeader,
)
from ..model.access import (
    Access,
    AccessRule,
    AccessRules,
    AuthBasic,
    AuthRequest,
    Cidr,
    LimitConnSettings,
    LimitReqSettings,
    LimitZone,
    RealIp,
    RealIpSource,
    Satisfy,
)
from ..model.logging import ErrorLevel
from ..settings import Level
from ..state import MainState

SERVICE_UNAVAILABLE = 503
_X_REAL_IP = RealIpHeader(RealIpSource.X_REAL_IP, "")


def access_settings(level: Level) -> Access:
    return Access(
        realip=_realip(level),
        rules=access_rules(level),
        auth_basic=_auth_basic(level),
        auth_request=_auth_request(level),
        satisfy=level.value(SATISFY, Satisfy.ALL),
        limit_req=LimitReqSettings(
            limits=level.value(LIMIT_REQ, ()),
            log_level=level.value(LIMIT_REQ_LOG_LEVEL, ErrorLevel.ERROR),
            status=level.value(LIMIT_REQ_STATUS, SERVICE_UNAVAILABLE),
            dry_run=level.value(LIMIT_REQ_DRY_RUN, False),
        ),
        limit_conn=LimitConnSettings(
            limits=level.value(LIMIT_CONN, ()),
            log_level=level.value(LIMIT_CONN_LOG_LEVEL, ErrorLevel.ERROR),
            status=level.value(LIMIT_CONN_STATUS, SERVICE_UNAVAILABLE),
            dry_run=level.value(LIMIT_CONN_DRY_RUN, False),
        ),
    )


def _realip(level: Level) -> RealIp | None:
    trusted = level.value(SET_REAL_IP_FROM, ())
    if not trusted:
        return None
    header = level.value(REAL_IP_HEADER, _X_REAL_IP)
    return RealIp(trusted, header.source, header.header, level.value(REAL_IP_RECURSIVE, False))


def access_rules(level: Level) -> AccessRules | None:
    rules: tuple[AccessRule, ...] = level.value(ACCESS_RULES, ())
    if not rules:
        return None
    return AccessRules(
        inet=_of_family(rules, socket.AF_INET),
        inet6=_of_family(rules, socket.AF_INET6),
        unix=_of_family(rules, socket.AF_UNIX),
    )


def _of_family(rules: tuple[AccessRule, ...], family: int) -> tuple[AccessRule, ...]:
    """The rules of one family, `all` (family 0) among them as a block of that family matching all."""
    return tuple(
        rule if rule.cidr.family == family else AccessRule(rule.deny, Cidr(family, 0, 0))
        for rule in rules
        if rule.cidr.family in (family, 0)
    )


def _auth_basic(level: Level) -> AuthBasic | None:
    realm = level.value(AUTH_BASIC, None)
    user_file = level.value(AUTH_BASIC_USER_FILE, None)
    if realm is None or user_file is None:
        return None
    return AuthBasic(realm, user_file.template, user_file.relative_prefix)


def _auth_request(level: Level) -> AuthRequest | None:
    """The nearest `auth_request`, and the nearest level's `auth_request_set` list (merged whole, as
    ngx_conf_merge_ptr_value does)."""
    uri = level.value(AUTH_REQUEST, "")
    if not uri:
        return None
    return AuthRequest(uri, level.value(AUTH_REQUEST_SET, ()))


def limit_zones(main: MainState) -> tuple[LimitZone, ...]:
    """The zones `limit_req_zone` and `limit_conn_zone` declared, in declaration order."""
    return tuple(zone.data for zone in main.shared_zones.values() if isinstance(zone.data, LimitZone))
