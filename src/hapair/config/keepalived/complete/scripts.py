"""Script security checks (keepalived's lib/notify.c `check_script_secure`), shared by every process."""

from __future__ import annotations

from ..model.scripts import SC_EXECUTABLE, SC_INHIBIT, SC_NOTFOUND, NotifyScript
from .context import Completion


def check_script_secure(completion: Completion, script: NotifyScript) -> int:
    """Resolve and check `script` as keepalived does; updates its args[0] and flags; returns SC_* flags."""
    raise NotImplementedError(completion, script)


def script_allowed(flags: int) -> bool:
    """Whether a checked script may run (keepalived frees it otherwise)."""
    return bool(flags & SC_EXECUTABLE) and not flags & (SC_INHIBIT | SC_NOTFOUND)
