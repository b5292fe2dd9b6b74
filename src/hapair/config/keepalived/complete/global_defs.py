"""Completion checks: global_defs (start-up and shutdown scripts, as keepalived's main.c)."""

from __future__ import annotations

from .context import Completion


def complete(completion: Completion) -> None:
    del completion
