"""Delivering an SMTP alert as keepalived's core/smtp.c does: a non-blocking connection to `smtp_server`,
each step of the conversation waiting at most `smtp_connect_timeout` for the server, keepalived's log
line for each way it can fail, never an exception. It runs as a task of the daemon's event loop, so the
VRRP work goes on while the server takes its time."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from ..vrrp.alerts import QUIT, Mail, Step, reply_code, rfc822_date

READ_SIZE = 1024  # keepalived's SMTP_BUFFER_MAX


@dataclass(frozen=True)
class SmtpServer:
    address: IPv4Address | IPv6Address
    port: int
    timeout_s: float

    @property
    def name(self) -> str:
        """How keepalived names it in its messages (inet_sockaddrtopair)."""
        return f"[{self.address}]:{self.port}"


class _ConversationOverError(Exception):
    """The server closed the connection, or an error was logged: the conversation is over."""


class _Conversation:
    def __init__(self, sock: socket.socket, server: SmtpServer, log: Callable[[str], None]) -> None:
        self.sock = sock
        self.server = server
        self.log = log
        self.loop = asyncio.get_running_loop()
        self.buffer = b""

    async def send(self, data: bytes) -> None:
        try:
            await self.loop.sock_sendall(self.sock, data)
        except OSError:
            self.log(f"Cannot send data to remote SMTP server {self.server.name}.")
            raise _ConversationOverError from None

    async def reply(self) -> int | None:
        """The next reply's code; None when the server did not answer in time (logged)."""
        while True:
            code, self.buffer = reply_code(self.buffer)
            if code is not None:
                return code
            try:
                data = await asyncio.wait_for(
                    self.loop.sock_recv(self.sock, READ_SIZE), self.server.timeout_s
                )
            except TimeoutError:
                self.log(f"Timeout reading data to remote SMTP server {self.server.name}.")
                return None
            except OSError:
                self.log(f"Error reading data from remote SMTP server {self.server.name}.")
                return None
            if not data:
                self.log(f"Remote SMTP server {self.server.name} has closed the connection.")
                raise _ConversationOverError
            self.buffer += data

    async def step(self, step: Step) -> bool:
        """Send the step's command and check the reply; False (after saying why) when it went wrong."""
        if step.send:
            await self.send(step.send)
        code = await self.reply()
        if code is None:
            return False
        if code != step.expected:
            server = self.server.name
            self.log(f"Error processing {step.name} cmd on SMTP server {server}. SMTP status code = {code}")
            return False
        return True


async def deliver(mail: Mail, server: SmtpServer, log: Callable[[str], None], *, detail: bool) -> None:
    """Send `mail` through `server`; every failure is logged as keepalived logs it, none raised."""
    family = socket.AF_INET if server.address.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if not await _connect(sock, server, log):
            return
        if detail:
            log(f"Remote SMTP server {server.name} connected.")
        await _converse(_Conversation(sock, server, log), mail.conversation(rfc822_date(time.time())), detail)
    except _ConversationOverError:
        pass
    finally:
        sock.close()


async def _connect(sock: socket.socket, server: SmtpServer, log: Callable[[str], None]) -> bool:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (str(server.address), server.port)), server.timeout_s)
    except TimeoutError:
        log(f"Timeout opening connection to remote SMTP server {server.name}.")
        return False
    except OSError:
        log(f"smtp fd {sock.fileno()} returned write error")
        return False
    return True


async def _converse(conversation: _Conversation, steps: list[Step], detail: bool) -> None:
    """keepalived's FSM: each step in turn; a step that goes wrong jumps to QUIT, whose reply ends the
    conversation whatever it is."""
    for step in steps:
        done = await conversation.step(step)
        if step is QUIT:
            return
        if not done:
            await conversation.step(QUIT)
            return
        if step.name == "BODY" and detail:
            conversation.log("SMTP alert successfully sent.")
