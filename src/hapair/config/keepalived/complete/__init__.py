"""What keepalived checks once the whole configuration is read, in its order: the parent's own checks
(start-up/shutdown scripts), then the checker, VRRP and BFD processes' (keepalived's `validate_config`).
The checker process's checks, which look only at virtual servers, are imported for a file that has some."""

from __future__ import annotations

from . import bfd, global_defs, vrrp
from .context import Completion


def complete(completion: Completion) -> None:
    global_defs.complete(completion)
    if completion.config.checkers.virtual_servers:
        from . import checkers  # noqa: PLC0415 (the checker model, only for virtual servers)

        checkers.complete(completion)
    vrrp.complete(completion)
    bfd.complete(completion)


__all__ = ["Completion", "complete"]
