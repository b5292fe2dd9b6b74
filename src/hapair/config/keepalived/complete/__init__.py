"""What keepalived checks once the whole configuration is read, in its order: checkers, VRRP, BFD."""

from __future__ import annotations

from . import bfd, checkers, vrrp
from .context import Completion


def complete(completion: Completion) -> None:
    checkers.complete(completion)
    vrrp.complete(completion)
    bfd.complete(completion)


__all__ = ["Completion", "complete"]
