"""Fixtures of the stream data-plane tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from hapair.proxy.stream import native


@pytest.fixture
def splices(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The byte counts of every os.splice call."""
    moved: list[int] = []
    real = os.splice

    def counted(*args: int, **kwargs: int) -> int:
        count = real(*args, **kwargs)
        moved.append(count)
        return count

    monkeypatch.setattr(os, "splice", counted)
    yield moved


@pytest.fixture
def python_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sessions relayed by relay.py's directions, the native relay taken as not built."""
    monkeypatch.setattr(native, "EXTENSION", None)
