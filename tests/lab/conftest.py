"""Namespace tests of `hapair lab`: one shared lab for status, faults and logs (each test heals what it
broke), and labs of their own for the tests that build or remove one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import lab, lab_ok, leftovers, master_is, skip_reason, unique_name


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[str]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    name = unique_name("s")
    try:
        lab_ok("up", "--name", name)
        master_is(1, name)
        yield name
    finally:
        lab("down", "--name", name)
    assert leftovers(name) == []


@pytest.fixture
def lab_name() -> Iterator[str]:
    """A fresh name for a test's own lab, taken down (whatever state it is in) at the end."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    name = unique_name("t")
    try:
        yield name
    finally:
        lab("down", "--name", name)
