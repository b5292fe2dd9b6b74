"""Keyword tables, one module per keepalived process that reads them, in keepalived's install order.

The tables hold no state: what keepalived keeps in statics while it reads lives in the reading's Parser
(`Parser.reading_state`), so one set of tables may serve any number of readings. The checker, BFD and
track_file tables, and the checker model's classes with them, are built only when a file uses one of
their root keywords (`DEFERRED`): a VRRP-only file does not import them (issue 15's start-up budget)."""

from __future__ import annotations

from functools import partial
from importlib import import_module

from ..engine import DeferredRoots, Keyword, RootKeyword
from . import global_defs, vrrp

GLOBAL = "global"
CHILD_GROUPS = {"vrrp", "check", "bfd", "track_file"}
# module, group and root keywords (in the order its `roots()` gives them) of each deferred table
DEFERRED = (
    ("checkers", "check", ("SSL", "virtual_server_group", "virtual_server")),
    ("bfd", "bfd", ("bfd_instance",)),
    ("track_file", "track_file", ("track_file", "vrrp_track_file")),
)


def all_roots() -> list[RootKeyword]:
    """The tables read by every file: global definitions and VRRP."""
    return [
        *(RootKeyword(k, GLOBAL) for k in global_defs.roots()),
        *(RootKeyword(k, "vrrp") for k in vrrp.roots()),
    ]


def deferred_roots() -> list[DeferredRoots]:
    return [DeferredRoots(group, names, partial(_roots_of, module)) for module, group, names in DEFERRED]


def _roots_of(module: str) -> list[Keyword]:
    roots: list[Keyword] = import_module(f"{__name__}.{module}").roots()
    return roots
