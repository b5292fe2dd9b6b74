"""Keywords: bfd."""

from __future__ import annotations

from ..engine import Keyword


def roots() -> list[Keyword]:
    return []
