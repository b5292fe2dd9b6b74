"""Delivering an alert (hapair.net.smtp) to an aiosmtpd server on the loopback: the mail as received, and
keepalived's log line for each way a delivery fails, without an exception."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address

from aiosmtpd.smtp import SMTP, Envelope, Session

from hapair.net.smtp import SmtpServer, deliver
from hapair.vrrp.alerts import Alert, Mail

MAIL = Mail("lb1", "lb1@example.com", ("ops@example.com", "oncall@example.com"), Alert("[LB_1] s", "=> b <="))
LOOPBACK = IPv4Address("127.0.0.1")


class Handler:
    def __init__(self, rcpt_answer: str | None = None) -> None:
        self.rcpt_answer = rcpt_answer
        self.received: list[tuple[str | None, str | None, list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answer is not None:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.received.append((session.host_name, envelope.mail_from, envelope.rcpt_tos, content))
        return "250 Message accepted for delivery"


def with_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] | Handler,
    detail: bool = False,
) -> list[str]:
    """Deliver MAIL to a server on the loopback (an aiosmtpd handler or raw connection code); the log."""
    logged: list[str] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        if isinstance(handle, Handler):
            server = await loop.create_server(lambda: SMTP(handle), "127.0.0.1", 0)
        else:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await deliver(MAIL, SmtpServer(LOOPBACK, port, 0.5), logged.append, detail=detail)

    asyncio.run(run())
    return logged


def test_a_mail_is_delivered_as_keepalived_sends_it():
    handler = Handler()
    logged = with_server(handler, detail=True)
    ((helo, sender, recipients, content),) = handler.received
    assert (helo, sender, recipients) == ("lb1", "lb1@example.com", ["ops@example.com", "oncall@example.com"])
    headers, body = content.split(b"\r\n\r\n", 1)
    assert headers.split(b"\r\n")[1:] == [
        b"From: lb1@example.com",
        b"Subject: [LB_1] s",
        b"X-Mailer: Keepalived",
        b"To: ops@example.com, oncall@example.com",
    ]
    assert body == b"=> b <=\r\n\r\n"
    assert logged[0].startswith("Remote SMTP server [127.0.0.1]:")
    assert logged[0].endswith(" connected.")
    assert logged[1:] == ["SMTP alert successfully sent."]


def test_a_refused_recipient_is_logged_and_the_conversation_quits():
    logged = with_server(Handler(rcpt_answer="550 no such user"))
    assert len(logged) == 1
    assert logged[0].startswith("Error processing RCPT cmd on SMTP server [127.0.0.1]:")
    assert logged[0].endswith(". SMTP status code = 550")


def test_a_server_that_never_greets_times_out_twice():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client is gone
        writer.close()

    logged = with_server(silent)
    assert len(logged) == 2
    assert all(line.startswith("Timeout reading data to remote SMTP server [127.0.0.1]:") for line in logged)


def test_a_server_closing_the_connection_ends_it():
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hello\r\n")
        await reader.readline()  # HELO
        writer.close()

    (line,) = with_server(rude)
    assert line.startswith("Remote SMTP server [127.0.0.1]:")
    assert line.endswith(" has closed the connection.")


def test_a_refused_connection_is_a_write_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: the connection is refused
        logged: list[str] = []
        asyncio.run(deliver(MAIL, SmtpServer(LOOPBACK, port, 0.5), logged.append, detail=False))
    (line,) = logged
    assert line.startswith("smtp fd ")
    assert line.endswith(" returned write error")
