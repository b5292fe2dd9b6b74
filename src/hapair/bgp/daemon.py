"""`hapair bgp`'s daemon: probes health every interval, feeds the announcers, hands their actions to the
speaker, and answers `hapair bgp drain|undrain|status` (and external health feeds) on a control socket.
Under `hapair node --bgp` (hapair.node.bgp) the same daemon runs in the node's process without its
probes: the node's trackers call `observe` at each change, and `drain` stops the node's proxy child.

Control protocol (a Unix stream socket, one command line in, lines out, then the daemon closes):
    status                          one line per VIP: announced|withdrawn, since (local time), why
    {"command": "status"}           the status document as JSON (what `hapair status` asks every daemon's
                                    control socket, hapair.control): per VIP announced or not, why, since
                                    (Unix time), drained, and each source's state
    {"command": "follow"}           each VIP's state now, then every announcement and withdrawal, as JSON
                                    lines until the daemon stops (`hapair status --follow`)
    drain                           withdraw every VIP, wait drain_settle, stop the proxy gracefully
                                    (SIGQUIT: it finishes its connections), SIGTERM it after
                                    drain_timeout if it has not ended, report each step
    undrain                         follow the health again
    observe SOURCE up|down DETAIL   one observation of a source a `vip ... follow SOURCE` line names
                                    (how `hapair node`'s native tracking feeds the announcer)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hapair.control.followers import Followers
from hapair.control.protocol import FOLLOW, RequestError, json_line, read_request

from . import health
from .announcer import Action, Announcer
from .config import BgpConfig, Vip
from .speakers import Speaker

if TYPE_CHECKING:
    from hapair.exposition import IpAddress, MetricsServer

log = logging.getLogger("hapair.bgp")
STOP_POLL_S = 0.05
FAST_STOP_WAIT_S = 5.0  # after drain_timeout's SIGTERM, how long before the drain reports the proxy running

Reply = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Feed:
    """Where a VIP's health comes from: the sources it follows, and how many agreeing observations in a
    row change a source's verdict."""

    sources: Callable[[Vip], list[str]]
    rise: int
    fall: int


def probe_feed(config: BgpConfig) -> Feed:
    """hapair bgp's own probes: the proxy's process, each listener of the VIP, the backends if listed, and
    the sources the vip line names; the file's rise and fall."""

    def sources(vip: Vip) -> list[str]:
        listeners = [health.listener_source(vip.address, port) for port in vip.ports]
        backends = [health.BACKENDS_SOURCE] if config.backends else []
        return [health.PROXY_SOURCE, *listeners, *backends, *vip.follow]

    return Feed(sources, config.rise, config.fall)


class ProxyControl(Protocol):
    """What `drain` and `undrain` do to the proxy."""

    async def stop(self, reply: Reply) -> None: ...

    def resume(self) -> None: ...


class PidFileProxy:
    """hapair bgp's proxy: the process its pid file names, stopped by SIGQUIT (it finishes its connections)
    and, if it has not ended `timeout` seconds later, by SIGTERM (nginx's fast stop: the connections left
    are closed); one that outlives that too is reported and left running: it is not hapair bgp's child
    (SIGKILL would end an nginx master and leave its workers serving). Starting it again is left to the
    administrator (or systemd) before `undrain`. `monotonic` times the waits, `clock` dates the replies."""

    def __init__(
        self,
        pid_file: str,
        clock: Callable[[], float],
        timeout: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pid_file = pid_file
        self.clock = clock
        self.timeout = timeout
        self.monotonic = monotonic

    async def stop(self, reply: Reply) -> None:
        pid = health.proxy_pid(self.pid_file)
        if pid is None or not health.process_alive(pid):
            await reply("proxy not running")
            return
        os.kill(pid, signal.SIGQUIT)
        asked = moment(self.clock())
        await reply(f"proxy {pid} asked to stop at {asked} (SIGQUIT: it finishes its connections)")
        if not await self._ended(pid, self.timeout) and not await self._fast_stop(pid, reply):
            return
        await reply(f"proxy {pid} stopped at {moment(self.clock())}")

    async def _fast_stop(self, pid: int, reply: Reply) -> bool:
        """SIGTERM for a proxy whose graceful stop outlasted `timeout`; whether it then ended. Each step is
        logged and done before it is told, so that it happens when the drain's client has gone too."""
        why = f"still running at {moment(self.clock())}, drain_timeout ({self.timeout:g} s) after SIGQUIT"
        log.warning("drain: proxy %d %s: SIGTERM", pid, why)
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(pid, signal.SIGTERM)
        await reply(f"proxy {pid} {why}: SIGTERM (its fast stop: the connections left are closed)")
        if await self._ended(pid, FAST_STOP_WAIT_S):
            return True
        left = f"proxy {pid} still running at {moment(self.clock())}, {FAST_STOP_WAIT_S:g} s after SIGTERM"
        log.error("drain: %s: left as it is", left)
        await reply(f"error: {left}: left as it is (it is not hapair bgp's child)")
        return False

    async def _ended(self, pid: int, patience: float) -> bool:
        """Whether process `pid` ends within `patience` seconds (polled: it is not hapair bgp's child)."""
        deadline = self.monotonic() + patience
        while health.process_alive(pid):
            if self.monotonic() >= deadline:
                return False
            await asyncio.sleep(STOP_POLL_S)
        return True

    def resume(self) -> None:
        """Nothing: the proxy is not hapair bgp's child."""


class BgpDaemon:
    """The announcers of one configuration and what drives them: hapair bgp's probes by default, or a
    `feed` and a `proxy` of the caller's (`hapair node --bgp`)."""

    def __init__(
        self,
        config: BgpConfig,
        speaker: Speaker,
        clock: Callable[[], float] = time.time,
        *,
        feed: Feed | None = None,
        proxy: ProxyControl | None = None,
        name: str = "bgp",
    ) -> None:
        self.config = config
        self.name = name  # the daemon, as the status document names it
        self.speaker = speaker
        self.clock = clock
        if proxy is None:
            proxy = PidFileProxy(config.proxy_pid, clock, config.drain_timeout)
        self.proxy = proxy
        feed = feed if feed is not None else probe_feed(config)
        now = clock()
        self.announcers = {
            vip.address: Announcer(vip.address, feed.sources(vip), rise=feed.rise, fall=feed.fall, now=now)
            for vip in config.vips
        }
        self.followers = Followers()

    # ----- the inputs

    def observe(self, source: str, healthy: bool, detail: str) -> None:
        """One observation of `source`, for every VIP that follows it."""
        now = self.clock()
        for announcer in self.announcers.values():
            if source in announcer.sources:
                self._carry_out(announcer.observe(source, healthy, detail, now))

    def drain(self) -> list[Action]:
        now = self.clock()
        for announcer in self.announcers.values():
            self._carry_out(announcer.drain(now))
        return [a.status() for a in self.announcers.values()]

    def undrain(self) -> None:
        self.proxy.resume()
        now = self.clock()
        for announcer in self.announcers.values():
            self._carry_out(announcer.undrain(now))

    def withdraw_all(self) -> None:
        """On the way out: nothing stays announced for a node whose announcer is gone."""
        for announcer in self.announcers.values():
            if announcer.announced:
                self._carry_out(Action(announcer.vip, False, "hapair bgp stopping", self.clock()))

    def _carry_out(self, action: Action | None) -> None:
        if action is None:
            return
        self.speaker.apply(action)
        log.info("%s %s: %s", "announce" if action.announce else "withdraw", action.vip, action.why)
        self.followers.publish(vip_event(action))

    # ----- the probes

    async def probe_forever(self) -> None:
        interval = self.config.interval
        while True:
            started = time.monotonic()
            await self.probe_once()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def probe_once(self) -> None:
        config = self.config
        self.observe(health.PROXY_SOURCE, *health.probe_process(config.proxy_pid))
        targets = [(vip.address, port) for vip in config.vips for port in vip.ports]
        listeners = asyncio.gather(
            *(health.probe_listener(address, port, config.interval) for address, port in targets)
        )
        if config.backends:
            backends = await health.probe_backends(config.backends, config.interval)
            self.observe(health.BACKENDS_SOURCE, *backends)
        for (address, port), result in zip(targets, await listeners, strict=True):
            self.observe(health.listener_source(address, port), *result)

    # ----- the control socket

    async def serve_control(self) -> asyncio.AbstractServer:
        path = Path(self.config.control)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = await asyncio.start_unix_server(self._client, path=str(path))
        os.chmod(path, 0o600)
        return server

    async def close_control(self, server: asyncio.AbstractServer) -> None:
        """Stop serving the control socket; the followers get the events so far, then the end."""
        server.close()
        with contextlib.suppress(FileNotFoundError):
            Path(self.config.control).unlink()
        await self.followers.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\n")
            await writer.drain()

        try:
            line = await reader.readline()
            if line.startswith(b"{"):
                await self._json_request(line, reader, writer)
            else:
                await self.command(line.decode(errors="replace").split(), reply)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _json_request(
        self, line: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """`hapair status`'s requests (hapair.control.protocol): the status document, or the events."""
        try:
            command = read_request(line)
        except RequestError as error:
            writer.write(json_line({"error": str(error)}))
            return
        if command == FOLLOW:
            now = self.clock()
            await self.followers.serve(
                reader, writer, [vip_event(a.status(), now) for a in self.announcers.values()]
            )
        else:
            writer.write(json_line(self.status_document()))
            await writer.drain()

    def status_document(self) -> dict[str, object]:
        """Per VIP: announced or not, why, since when (Unix time), drained, and each source's state (up:
        true, false, or null before its first verdict) with its last observation's detail."""
        vips = []
        for announcer in self.announcers.values():
            sources = {
                name: {"up": up, "detail": detail} for name, (up, detail) in announcer.source_states().items()
            }
            vips.append(
                {
                    "vip": announcer.vip,
                    "announced": announcer.announced,
                    "why": announcer.why,
                    "since": announcer.since,
                    "drained": announcer.drained,
                    "cause": announcer.cause,
                    "sources": sources,
                }
            )
        return {
            "daemon": self.name,
            "pid": os.getpid(),
            "config": self.config.path,
            "speaker": self.config.speaker,
            "vips": vips,
        }

    async def command(self, words: list[str], reply: Reply) -> None:
        verb = words[0] if words else ""
        if verb == "status" and len(words) == 1:
            for line in self.status_lines():
                await reply(line)
        elif verb == "drain" and len(words) == 1:
            await self._drain(reply)
        elif verb == "undrain" and len(words) == 1:
            self.undrain()
            for line in self.status_lines():
                await reply(line)
        elif verb == "observe" and len(words) >= 3 and words[2] in ("up", "down"):
            await self._external(words[1], words[2] == "up", " ".join(words[3:]), reply)
        else:
            await reply(f"error: unknown command {' '.join(words)!r} (status, drain, undrain, observe)")

    def status_lines(self) -> list[str]:
        lines = []
        for announcer in self.announcers.values():
            state = announcer.status()
            word = "announced" if state.announce else "withdrawn"
            lines.append(f"{state.vip} {word} since {moment(state.since)}: {state.why}")
        return lines

    async def _external(self, source: str, healthy: bool, detail: str, reply: Reply) -> None:
        if not any(source in a.sources for a in self.announcers.values()):
            await reply(f"error: no vip follows {source!r}")
            return
        self.observe(source, healthy, detail or ("up" if healthy else "down"))
        await reply("ok")

    async def _drain(self, reply: Reply) -> None:
        for state in self.drain():
            await reply(f"{state.vip} withdrawn at {moment(state.since)}")
        await asyncio.sleep(self.config.drain_settle)
        await self.proxy.stop(reply)


def serve_metrics(daemon: BgpDaemon, address: tuple[IpAddress, int]) -> MetricsServer:
    """`/metrics` for the daemon's announcers (hapair.bgp.metrics), served from a thread of its own;
    OSError when the address cannot be bound. prometheus-client is imported only then."""
    from hapair.exposition import MetricsServer  # noqa: PLC0415

    from .metrics import BgpCollector  # noqa: PLC0415

    server = MetricsServer(*address)
    server.register(BgpCollector(lambda: list(daemon.announcers.values())))
    server.start()
    return server


def vip_event(action: Action, now: float | None = None) -> dict[str, object]:
    """An announcement or a withdrawal as `hapair status --follow` prints it; with `now`, the state a
    follower is first given (marked `current`, the time it was asked at)."""
    event: dict[str, object] = {
        "time": action.since if now is None else now,
        "kind": "vip",
        "name": action.vip,
        "state": "announced" if action.announce else "withdrawn",
        "why": action.why,
    }
    if now is not None:
        event |= {"current": True, "since": action.since}
    return event


def moment(unix_time: float) -> str:
    """A Unix time as local ISO 8601 with milliseconds."""
    return datetime.fromtimestamp(unix_time).isoformat(timespec="milliseconds")


async def run(daemon: BgpDaemon) -> None:
    """Probe and serve until SIGTERM or SIGINT (or a probe's failure, raised), then withdraw everything."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    server = await daemon.serve_control()
    probes = asyncio.create_task(daemon.probe_forever())
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait((probes, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (probes, stop):
            task.cancel()
        daemon.withdraw_all()
        await daemon.close_control(server)
    if probes.done() and not probes.cancelled() and probes.exception() is not None:
        raise probes.exception()  # type: ignore[misc]
