"""The worker's thread pools (threads.py): tasks run in threads named after the pool, their results come
back in the loop, the threads start with the first task, and a task is refused with nginx's line once
`max_queue` tasks wait."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from hapair.config.nginx.model.config import ThreadPool as PoolSpec
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.http.threads import ThreadPool

from .harness import run


def _pool_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("hapair-io_")]


def test_tasks_run_in_the_pools_threads_and_overflow_is_refused() -> None:
    logged: list[tuple[ErrorLevel, str]] = []
    gate = threading.Event()

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        pool = ThreadPool(PoolSpec("io", threads=1, max_queue=1), loop)
        assert not _pool_threads()  # nothing started before the first task
        names: list[str] = []
        finished = asyncio.Event()

        def done(future: asyncio.Future[Any]) -> None:
            names.append(future.result())
            if len(names) == 2:
                finished.set()

        def task() -> str:
            gate.wait(10)
            return threading.current_thread().name

        def log(level: ErrorLevel, text: str) -> None:
            logged.append((level, text))

        assert pool.submit(log, done, task)  # running
        assert pool.submit(log, done, task)  # waiting: the queue holds one
        assert pool.waiting == 1
        assert not pool.submit(log, done, task)
        gate.set()
        await finished.wait()
        pool.close()
        return names

    names = run(scenario())
    assert all(name.startswith("hapair-io_") for name in names)
    assert logged == [(ErrorLevel.ERROR, 'thread pool "io" queue overflow: 1 tasks waiting')]
