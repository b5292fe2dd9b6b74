"""Where something was defined in the configuration files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    file: str
    line: int
