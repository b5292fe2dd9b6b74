"""What keepalived checks once the whole configuration is read, in its order: the parent's own checks
(start-up/shutdown scripts), then the checker, VRRP and BFD processes' (keepalived's `validate_config`)."""

from __future__ import annotations

from . import bfd, checkers, global_defs, vrrp
from .context import Completion


def complete(completion: Completion) -> None:
    global_defs.complete(completion)
    checkers.complete(completion)
    vrrp.complete(completion)
    bfd.complete(completion)


__all__ = ["Completion", "complete"]
