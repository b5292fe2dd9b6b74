"""Completion checks: checkers."""

from __future__ import annotations

from .context import Completion


def complete(completion: Completion) -> None:
    del completion
