"""What one configuration read shares across keepalived's two readings and its completion checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from .host import Host
from .model import KeepalivedConfig
from .scripts import ScriptUsers


@dataclass
class Session:
    config: KeepalivedConfig
    host: Host
    config_test: bool
    config_id: str
    script_users: ScriptUsers = field(default_factory=ScriptUsers)
