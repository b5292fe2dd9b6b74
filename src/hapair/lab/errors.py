"""The lab's one error type: a user-facing, one-line reason."""

from __future__ import annotations


class LabError(Exception):
    """Something the user can act on (not root, a name in use, a lab not up...): printed as one line."""
