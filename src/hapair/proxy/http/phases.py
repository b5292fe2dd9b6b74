"""What a request goes through at a location, in nginx's phase order, made once per location from its
settings: the steps (nginx's pre-access, access and pre-content phases, then the content handler) and
the header filters its responses pass (nginx's filter chain). A module a location does not use adds
nothing: the common proxied location has one step and one filter (not_modified, for its `return`s).

The server's post-read step (realip) runs before its rewrite directives (`server_post_read`). The
pre-access phase is realip again (with the location's settings), limit_req, limit_conn; the access phase
is allow/deny, auth_basic, then auth_request, combined as `satisfy` says (see `access`); the pre-content
phase is try_files; the content handler is the status page (stub_status), the proxy, or nginx's handlers
for files (index, autoindex, static).

Each feature's module is imported by the builder that uses it, once per configuration: a location that
does not use a directive leaves its module out of the worker (issue 15), and proxy/preload.py imports
the ones a configuration uses in the master, before it forks the workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.access import Satisfy
from hapair.config.nginx.model.headers import ExpiresKind

from .access import AccessPhase, AccessRulesCheck, Check
from .gzip import GzipFilter
from .headers_filter import Headers
from .not_modified import not_modified
from .proxying import proxy
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from hapair.config.nginx.model.access import Access
    from hapair.config.nginx.model.http import Settings

    from ..status import WorkerStatus
    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead
    from .zones import LimitZones

Step = Callable[["Exchange"], int]
HeadFilter = Callable[["Exchange", "ResponseHead"], "BodyFilter | None"]


def server_post_read(settings: Settings) -> Step | None:
    """nginx's post-read phase, with a server's settings: realip, or nothing."""
    realip = settings.access.realip
    if realip is None:
        return None
    from .realip import RealIpStep  # noqa: PLC0415

    return RealIpStep(realip)


def location_steps(
    settings: Settings, *, proxied: bool, zones: LimitZones, status: WorkerStatus | None
) -> tuple[Step, ...]:
    """The steps of a request at a location whose settings are `settings`, the content handler last:
    pre-access, access, try_files, then the status page, the proxy, or nginx's content handlers for files
    (index, autoindex, static) and the 403 of a directory none of them answered."""
    steps = [*_pre_access(settings.access, zones), *_access(settings.access)]
    files = settings.files
    if files.try_files is not None:
        from .try_files import try_files  # noqa: PLC0415

        steps.append(try_files)
    if settings.stub_status:
        from .stub_status import StatusPage  # noqa: PLC0415

        assert status is not None  # a configuration with a status page counts
        steps.append(StatusPage(status.board))
        return tuple(steps)
    if proxied:
        steps.append(proxy)
        return tuple(steps)
    return (*steps, *_file_handlers(autoindex=files.autoindex.enabled))


def _file_handlers(*, autoindex: bool) -> list[Step]:
    """nginx's content handlers for files: index, autoindex when enabled, static, then the 403 of a
    directory none of them answered."""
    from .index import index  # noqa: PLC0415
    from .static import directory_index_forbidden, static  # noqa: PLC0415

    handlers: list[Step] = [index]
    if autoindex:
        from .autoindex import autoindex as listing  # noqa: PLC0415

        handlers.append(listing)
    return [*handlers, static, directory_index_forbidden]


def _pre_access(access: Access, zones: LimitZones) -> list[Step]:
    steps: list[Step] = []
    if access.realip is not None:
        from .realip import RealIpStep  # noqa: PLC0415

        steps.append(RealIpStep(access.realip))
    requests = access.limit_req
    if requests.limits:
        from .limit_req import LimitReqStep  # noqa: PLC0415

        limits = [zones.limit_req(limit.zone, limit.burst, limit.delay) for limit in requests.limits]
        steps.append(LimitReqStep(limits, requests))
    connections = access.limit_conn
    if connections.limits:
        from .limit_conn import LimitConnStep  # noqa: PLC0415

        counts = [zones.limit_conn(limit.zone, limit.connections) for limit in connections.limits]
        steps.append(LimitConnStep(counts, connections))
    return steps


def _access(access: Access) -> list[Step]:
    checks: list[Check] = []
    if access.rules is not None:
        checks.append(AccessRulesCheck(access.rules, log_denial=access.satisfy is Satisfy.ALL))
    auth = access.auth_basic
    if auth is not None:
        from .auth_basic import AuthBasicCheck  # noqa: PLC0415

        realm, user_file = CompiledTemplate(auth.realm), CompiledTemplate(auth.user_file)
        checks.append(AuthBasicCheck(realm, user_file, auth.relative_prefix))
    auth_request = None
    if access.auth_request is not None:
        from .auth_request import AuthRequestCheck  # noqa: PLC0415

        auth_request = AuthRequestCheck(access.auth_request)
    if not checks and auth_request is None:
        return []
    return [AccessPhase(checks, access.satisfy, auth_request)]


def location_filters(settings: Settings) -> tuple[HeadFilter, ...]:
    """The header filters of a location's responses, in nginx's order (the first runs first):
    not_modified, headers (expires, add_header, add_trailer), charset, gzip, then range, which only a
    location serving files needs."""
    filters: list[HeadFilter] = [not_modified]
    headers = settings.headers
    if headers.expires.kind is not ExpiresKind.OFF or headers.headers or headers.trailers:
        filters.append(Headers(headers))
    if settings.charset.charset is not None:
        from .charset import Charset  # noqa: PLC0415

        filters.append(Charset(settings.charset))
    if settings.gzip.enable:
        filters.append(GzipFilter(settings.gzip))
    if settings.proxy.target is None:
        from .ranges import ranges  # noqa: PLC0415

        filters.append(ranges)
    return tuple(filters)
