"""Model: global_defs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GlobalDefs:
    pass
