"""Whole-system tests: hapair and keepalived daemons on a LAN of network namespaces (tests/topology.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.topology import Lan, missing_lab_requirements


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    reason = missing_lab_requirements()
    if reason:
        pytest.skip(reason)
    with Lan(tmp_path) as built:
        yield built
