"""The proxy tests' shared clean-up: the directories their instances ran in (tests/proxy/processes.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.proxy.processes import remove_opened_directories


@pytest.fixture(autouse=True, scope="session")
def _opened_directories_removed() -> Iterator[None]:
    yield
    remove_opened_directories()
