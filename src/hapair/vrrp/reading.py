"""The VRRP daemon's readings of keepalived.conf, each in a child process (forked.py): the reader never
stays in the daemon (issue 15's memory budget), and the first one runs while the daemon imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair import dataclass_code
from hapair.forked import ForkedCall

if TYPE_CHECKING:
    from hapair.config.keepalived.result import LoadResult


def start_reading(path: str, config_id: str | None) -> ForkedCall[LoadResult]:
    return ForkedCall(read, path, config_id)


def read(path: str, config_id: str | None) -> LoadResult:
    """keepalived's reading as the daemon does it (in the child, which writes the dataclasses' code it
    compiled: dataclass_code.py)."""
    with dataclass_code.cached():
        from hapair.config.keepalived.load import load  # noqa: PLC0415  (never in the daemon)
        from hapair.net.host import LocalHost  # noqa: PLC0415

    return load(path, LocalHost(), config_id=config_id, config_test=False)
