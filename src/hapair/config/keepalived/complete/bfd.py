"""Completion checks of keepalived's BFD process: there are none to make.

Every check of a `bfd_instance` runs when its block ends (keywords/bfd.py, keepalived's `bfd_end_handler`).
Under `-t` keepalived's `start_bfd` stops right after reading; what it does next, `bfd_complete_init`,
only sets up the sessions' run-time state (discriminators, timers), which the BFD engine will do.
"""

from __future__ import annotations

from .context import Completion


def complete(completion: Completion) -> None:
    """Nothing is left to check once the configuration is read (see above)."""
    del completion
