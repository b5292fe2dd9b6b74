"""nginx's thread pools in a worker (`thread_pool`, `aio threads`): files are read, and sent with
sendfile, by a pool's threads rather than by the event loop, so that a read that waits for the disk does
not stop the worker's other connections.

A pool's threads start with its first task: a configuration that names pools its locations do not use
costs nothing. As ngx_thread_task_post, a task is refused when `max_queue` tasks already wait for a
thread, with nginx's error line; the caller then fails the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hapair.config.nginx.model.logging import ErrorLevel

if TYPE_CHECKING:
    from hapair.config.nginx.model.config import ThreadPool as PoolSpec

ErrorLog = Callable[[ErrorLevel, str], None]


class ThreadPool:
    """One pool of one worker."""

    __slots__ = ("_executor", "_loop", "_max_queue", "_tasks", "_threads", "name")

    def __init__(self, spec: PoolSpec, loop: asyncio.AbstractEventLoop) -> None:
        self.name = spec.name
        self._threads = spec.threads
        self._max_queue = spec.max_queue
        self._loop = loop
        self._executor: ThreadPoolExecutor | None = None
        self._tasks = 0  # submitted and not yet done, running or waiting

    @property
    def waiting(self) -> int:
        """Tasks that wait for a thread."""
        return max(0, self._tasks - self._threads)

    def submit(
        self, log: ErrorLog, done: Callable[[asyncio.Future[Any]], None], task: Callable[..., Any], *args: Any
    ) -> bool:
        """Run `task(*args)` in a thread; `done` gets its future in the loop once it is over. False, with
        nginx's error line, when the queue is full."""
        if self.waiting >= self._max_queue:
            log(ErrorLevel.ERROR, f'thread pool "{self.name}" queue overflow: {self.waiting} tasks waiting')
            return False
        executor = self._executor
        if executor is None:
            executor = self._executor = ThreadPoolExecutor(self._threads, f"hapair-{self.name}")
        self._tasks += 1
        future = self._loop.run_in_executor(executor, task, *args)
        future.add_done_callback(self._finished)
        future.add_done_callback(done)
        return True

    def _finished(self, _: Future[Any] | asyncio.Future[Any]) -> None:
        self._tasks -= 1

    def close(self) -> None:
        """No new task; the threads end once the tasks under way are (a read or a sendfile each)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def thread_pools(specs: tuple[PoolSpec, ...], loop: asyncio.AbstractEventLoop) -> dict[str, ThreadPool]:
    return {spec.name: ThreadPool(spec, loop) for spec in specs}
