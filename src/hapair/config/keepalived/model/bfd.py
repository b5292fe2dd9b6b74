"""Model: bfd."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BfdData:
    pass
