"""The variables a configuration makes (`map`, `split_clients`), by name: what `variables.resolver` falls
back to for a name that is not nginx's and that the request has no value of yet. A later block making a
name replaces an earlier one, as in nginx. Each kind's module is imported only for a configuration making
such a variable (as proxy/preload.py does before the workers are forked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.http import HttpConfig
from hapair.config.nginx.model.variables import Map, SplitClients

if TYPE_CHECKING:
    from .exchange import Exchange

Getter = Callable[["Exchange"], str]


def configured_variables(config: HttpConfig) -> dict[str, Getter]:
    table: dict[str, Getter] = {}
    for made in config.variables:
        getter = _map(made) if isinstance(made, Map) else _split_clients(made)
        table[getter.name] = getter
    return table


def _map(made: Map) -> Getter:
    from .map import MapVariable  # noqa: PLC0415

    return MapVariable(made)


def _split_clients(made: SplitClients) -> Getter:
    from .split_clients import SplitVariable  # noqa: PLC0415

    return SplitVariable(made)
