"""What a request goes through at a location, in nginx's phase order, made once per location from its
settings: the steps (nginx's pre-access, access and pre-content phases, then the content handler) and
the header filters its responses pass (nginx's filter chain). A module a location does not use adds
nothing: the common proxied location has one step and one filter (not_modified, for its `return`s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.headers import ExpiresKind

from .autoindex import autoindex
from .charset import Charset
from .headers_filter import Headers
from .index import index
from .not_modified import not_modified
from .proxying import proxy
from .ranges import ranges
from .static import directory_index_forbidden, static
from .try_files import try_files

if TYPE_CHECKING:
    from hapair.config.nginx.model.http import Settings

    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead

Step = Callable[["Exchange"], int]
HeadFilter = Callable[["Exchange", "ResponseHead"], "BodyFilter | None"]


def location_steps(settings: Settings, *, proxied: bool) -> tuple[Step, ...]:
    """The steps of a request at a location whose settings are `settings`, the content handler last:
    try_files (pre-content), then the proxy, or nginx's content handlers for files (index, autoindex,
    static) and the 403 of a directory none of them answered."""
    files = settings.files
    steps: list[Step] = [try_files] if files.try_files is not None else []
    if proxied:
        steps.append(proxy)
        return tuple(steps)
    steps.append(index)
    if files.autoindex.enabled:
        steps.append(autoindex)
    steps += (static, directory_index_forbidden)
    return tuple(steps)


def location_filters(settings: Settings) -> tuple[HeadFilter, ...]:
    """The header filters of a location's responses, in nginx's order (the first runs first):
    not_modified, headers (expires, add_header, add_trailer), charset, then range (after gzip's place),
    which only a location serving files needs."""
    filters: list[HeadFilter] = [not_modified]
    headers = settings.headers
    if headers.expires.kind is not ExpiresKind.OFF or headers.headers or headers.trailers:
        filters.append(Headers(headers))
    if settings.charset.charset is not None:
        filters.append(Charset(settings.charset))
    if settings.proxy.target is None:
        filters.append(ranges)
    return tuple(filters)
