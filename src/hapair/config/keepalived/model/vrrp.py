"""Model: vrrp."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VrrpData:
    pass
