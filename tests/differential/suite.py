"""What the differential test modules share: their marks, the module-wide pair of servers, and the two
checks every wire case gets (its answer and upstream requests; its access-log lines), each a test of its
own so that a case whose answer matches but whose log line does not says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from . import compare
from .harness import Case, Pair
from .servers import missing_nginx

_MISSING = missing_nginx()
ORACLE = [pytest.mark.oracle, pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")]


def pair_fixture(text: str) -> Callable[..., Iterator[Pair]]:
    """A module-scoped fixture running nginx and hapair on `text` for the module's tests."""

    @pytest.fixture(scope="module")
    def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
        running = Pair(tmp_path_factory.mktemp("pair"), text)
        yield running
        running.close()

    return pair


def _xfail(reason: str | None) -> Sequence[Any]:
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def answer_params(cases: Sequence[Case]) -> list[Any]:
    return [pytest.param(case, id=case.name, marks=_xfail(case.differs)) for case in cases]


def log_params(cases: Sequence[Case]) -> list[Any]:
    return [
        pytest.param(case, id=case.name, marks=_xfail(case.log_differs)) for case in cases if case.compare_log
    ]


def check_answer(pair: Pair, case: Case) -> None:
    """nginx still answers as recorded; hapair's answer and what its backend saw are nginx's."""
    outcome = pair.run(case)
    assert tuple(outcome.nginx.answer.statuses) == case.nginx, outcome.nginx.answer.raw[:500]
    compare.assert_same_answer(outcome)
    compare.assert_same_upstream(outcome)
    compare.assert_no_worker_died(outcome.hapair)


def check_log(pair: Pair, case: Case) -> None:
    compare.assert_same_log(pair.run(case))
