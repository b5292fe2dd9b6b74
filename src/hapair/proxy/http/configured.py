"""The variables a configuration makes (`map`, `split_clients`), by name: what `variables.resolver` falls
back to for a name that is not nginx's and that the request has no value of yet. A later block making a
name replaces an earlier one, as in nginx."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.http import HttpConfig
from hapair.config.nginx.model.variables import Map

from .map import MapVariable
from .split_clients import SplitVariable

if TYPE_CHECKING:
    from .exchange import Exchange

Getter = Callable[["Exchange"], str]


def configured_variables(config: HttpConfig) -> dict[str, Getter]:
    table: dict[str, Getter] = {}
    for made in config.variables:
        getter = MapVariable(made) if isinstance(made, Map) else SplitVariable(made)
        table[getter.name] = getter
    return table
