"""The typed model of everything keepalived reads from its configuration.

Objects are built while the configuration is read (keepalived's handlers fill the last object of a list)
and are not changed once `load` has returned them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .bfd import BfdData
from .check_data import CheckData
from .global_defs import GlobalDefs
from .vrrp import VrrpData


@dataclass
class KeepalivedConfig:
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    vrrp: VrrpData = field(default_factory=VrrpData)
    checkers: CheckData = field(default_factory=CheckData)
    bfd: BfdData = field(default_factory=BfdData)


__all__ = ["BfdData", "CheckData", "GlobalDefs", "KeepalivedConfig", "VrrpData"]
