"""Model: checkers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckData:
    pass
