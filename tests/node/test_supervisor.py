"""The proxy supervisor's stop and `hapair node --bgp`'s drain on it: a graceful stop that outlasts its
grace (the drain's drain_timeout) is ended by SIGTERM, and the drain says so. The stand-in proxy is a
Python child that ignores SIGQUIT, as a proxy whose connections never end keeps it waiting."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from types import SimpleNamespace
from typing import Any

from hapair.node.bgp import NodeProxy
from hapair.node.settings import Restart
from hapair.node.supervisor import ProxySupervisor

IGNORES_SIGQUIT = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n"
    "os.write(1, b'ready')\n"
    "time.sleep(600)\n"
)


def test_a_drain_sigterms_a_proxy_whose_graceful_stop_outlasts_drain_timeout() -> None:
    logged: list[str] = []
    replies: list[str] = []

    async def reply(line: str) -> None:
        replies.append(line)

    async def scenario() -> Any:
        ready, write_end = os.pipe()
        supervisor = ProxySupervisor(
            [sys.executable, "-c", IGNORES_SIGQUIT],
            environment=dict(os.environ),
            restart=Restart(),
            log=logged.append,
            on_master=lambda up: None,
            stdout=write_end,
        )
        supervisor.start()
        os.close(write_end)
        assert await asyncio.get_running_loop().run_in_executor(None, os.read, ready, 5) == b"ready"
        os.close(ready)
        pid = supervisor.pid
        try:
            await NodeProxy(SimpleNamespace(supervisor=supervisor), 0.05).stop(reply)  # type: ignore[arg-type]
        finally:
            if supervisor.process is not None:  # the drain did not end it: no child left behind
                supervisor.process.kill()
                supervisor.process.wait()
        return pid

    pid = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert replies[0].startswith(f"proxy {pid} asked to stop at ")
    assert replies[1].startswith(f"proxy {pid} stopped at ")
    assert replies[1].endswith(" by SIGTERM (its graceful stop outlasted drain_timeout, 0.05 s)")
    assert f"Proxy master (PID {pid}) still running 0.05 s after SIGQUIT" in logged
    assert logged[-1] == f"Proxy master (PID {pid}) killed by signal {signal.SIGTERM.value}"
