"""Keyword tables, one module per keepalived process that reads them, in keepalived's install order.

The tables hold no state: what keepalived keeps in statics while it reads lives in the reading's Parser
(`Parser.reading_state`), so one set of tables may serve any number of readings."""

from __future__ import annotations

from ..engine import RootKeyword
from . import bfd, checkers, global_defs, track_file, vrrp

GLOBAL = "global"
CHILD_GROUPS = {"vrrp", "check", "bfd", "track_file"}


def all_roots() -> list[RootKeyword]:
    return [
        *(RootKeyword(k, GLOBAL) for k in global_defs.roots()),
        *(RootKeyword(k, "vrrp") for k in vrrp.roots()),
        *(RootKeyword(k, "check") for k in checkers.roots()),
        *(RootKeyword(k, "bfd") for k in bfd.roots()),
        *(RootKeyword(k, "track_file") for k in track_file.roots()),
    ]
