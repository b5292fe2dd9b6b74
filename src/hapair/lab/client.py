"""The client: HTTP requests to the VIP from the client's namespace, as the seed's
`while true; do curl http://VIP:8080/test.php; sleep 1.0; done`, but every 0.1 s so that an outage is
measured to about a tenth of a second; which node served each answer is read from the test page, whose
`Client:` line is the address the request came from (the node's proxy)."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from pyroute2 import netns

from .layout import HTTP_PORT, VIP, node_of_address

POLL_INTERVAL_S = 0.1
REQUEST_TIMEOUT_S = 1.0
MAX_OUTSTANDING = 2 * int(REQUEST_TIMEOUT_S / POLL_INTERVAL_S)
PATH = "/test.php"
_CLIENT_LINE = re.compile(r"^Client: ([0-9.]+):\d+$", re.MULTILINE)


@dataclass(frozen=True)
class Answer:
    """One request: when it was sent (monotonic and wall clock), when its answer (or failure) came, and
    which node served it (None: no answer, `error` says why)."""

    sent: float
    received: float
    wall: datetime
    node: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def served_by(page: str) -> int | None:
    """The node whose address the test page saw as its client."""
    found = _CLIENT_LINE.search(page)
    return node_of_address(found[1]) if found else None


def ask(address: str = VIP, port: int = HTTP_PORT, timeout: float = REQUEST_TIMEOUT_S) -> Answer:
    """One GET of the test page (the calling thread must be in the client's namespace)."""
    wall = datetime.now()
    sent = time.monotonic()
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request("GET", PATH, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        return Answer(sent, time.monotonic(), wall, None, _reason(error))
    finally:
        connection.close()
    if response.status != 200:
        return Answer(sent, time.monotonic(), wall, None, f"HTTP {response.status}")
    return Answer(sent, time.monotonic(), wall, served_by(body))


def _reason(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def longest_outage(answers: Sequence[Answer]) -> float:
    """The longest time the service was out for the client: from the sending of the first failed request
    of a run of failures to the sending of the next request that was answered (if none was, to the last
    failure's end). 0 when nothing failed. `answers` are in the order they were sent."""
    longest = 0.0
    failed_since: float | None = None
    last_end = 0.0
    for answer in answers:
        if not answer.ok:
            if failed_since is None:
                failed_since = answer.sent
            last_end = answer.received
        elif failed_since is not None:
            longest = max(longest, answer.sent - failed_since)
            failed_since = None
    if failed_since is not None:
        longest = max(longest, last_end - failed_since)
    return longest


class ClientLoop:
    """Sends a request every POLL_INTERVAL_S from the client's namespace until `stop`, without waiting for
    the previous answers (a lost request does not delay the next one, so an outage is measured to the
    interval, not to the timeout). Answers are kept, and handed to `on_answer`, in the order sent."""

    def __init__(self, namespace: str, on_answer: Callable[[Answer], None]) -> None:
        self.namespace = namespace
        self.on_answer = on_answer
        self.answers: list[Answer] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-client", daemon=True)
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def since(self, index: int) -> list[Answer]:
        return self.answers[index:]

    def _run(self) -> None:
        try:
            netns.setns(self.namespace, flags=0)
            # the pool's threads are started from this one, so they are in the client's namespace too
            with ThreadPoolExecutor(max_workers=MAX_OUTSTANDING, thread_name_prefix="lab-client") as pool:
                pending: deque[Future[Answer]] = deque()
                next_send = time.monotonic()
                while not self._stopping.is_set():
                    pending.append(pool.submit(ask))
                    next_send += POLL_INTERVAL_S
                    self._stopping.wait(max(0.0, next_send - time.monotonic()))
                    self._deliver(pending, wait=False)
                self._deliver(pending, wait=True)
        except Exception as error:  # handed to the thread that stops the loop
            self._failure = error

    def _deliver(self, pending: deque[Future[Answer]], *, wait: bool) -> None:
        """Hand over the answers whose earlier ones have all come (all of them if `wait`)."""
        while pending and (wait or pending[0].done()):
            answer = pending.popleft().result()
            self.answers.append(answer)
            self.on_answer(answer)
