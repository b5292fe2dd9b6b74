"""What a request goes through at a location, in nginx's phase order, made once per location from its
settings: the steps (nginx's pre-access, access and pre-content phases, then the content handler) and
the header filters its responses pass (nginx's filter chain). A module a location does not use adds
nothing: the common proxied location has one step and no filter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .gzip import GzipFilter
from .proxying import proxy

if TYPE_CHECKING:
    from hapair.config.nginx.model.http import Settings

    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead

Step = Callable[["Exchange"], int]
HeadFilter = Callable[["Exchange", "ResponseHead"], "BodyFilter | None"]


def location_steps(settings: Settings, *, proxied: bool) -> tuple[Step, ...]:
    """The steps of a request at a location whose settings are `settings`, the content handler last."""
    return (proxy if proxied else not_found,)


def location_filters(settings: Settings) -> tuple[HeadFilter, ...]:
    """The header filters of a location's responses, in nginx's order (the first runs first)."""
    return (GzipFilter(settings.gzip),) if settings.gzip.enable else ()


def not_found(ex: Exchange) -> int:
    """A location without a content handler: 404 (hapair serves no files yet)."""
    return 404
