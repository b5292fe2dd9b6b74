"""keepalived's SMTP alerts (`smtp_alert`): which state changes send a mail (vrrp_notify.c's
vrrp_smtp_notifier and vrrp_sync_smtp_notifier), the mail's subject, body and headers, and the SMTP
conversation that delivers it (core/smtp.c: one connection per mail, HELO, MAIL, one RCPT per address,
DATA, the message, QUIT). Pure: `hapair.net.smtp` holds the conversation with the server.

Checked against keepalived 2.2.7 sending to the same sink (tests/system/test_smtp_alert.py): the same
commands and message, but for the date and the host names."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from ..config.keepalived.model.global_defs import GlobalDefs
from .actions import NotifyEvent

MAX_SUBJECT = 255  # keepalived's MAX_HEADERS_LENGTH buffer, NUL included
MAX_BODY = 511  # MAX_BODY_LENGTH
MAX_TO = 1023  # SMTP_BUFFER_MAX, for the To header
NO_LONGER_OWNING = "=> VRRP Instance is no longer owning VRRP VIPs <="

_INSTANCE_TEXTS = {
    NotifyEvent.MASTER: ("Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
    NotifyEvent.BACKUP: ("Entering BACKUP state", NO_LONGER_OWNING),
    NotifyEvent.FAULT: ("Entering FAULT state", NO_LONGER_OWNING),
    NotifyEvent.STOP: ("Stopping", "=> VRRP Instance stopping <="),
    NotifyEvent.DELETED: ("Deleted", "=> VRRP Deleted at reload <="),
}
_GROUP_TEXTS = {
    NotifyEvent.MASTER: ("Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="),
    NotifyEvent.BACKUP: ("Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="),
    NotifyEvent.FAULT: ("Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="),
    NotifyEvent.STOP: ("Stopping", "=> All VRRP group instances are now stopping <="),
}


class Sender(Enum):
    """What a mail is about: the subject names it (`VRRP Instance VI_1`, `VRRP Group G1`)."""

    INSTANCE = "VRRP Instance"
    GROUP = "VRRP Group"


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str


def alert_for(sender: Sender, name: str, event: NotifyEvent, router_id: str | None) -> Alert | None:
    """The mail keepalived sends when `name` notifies `event`; None for an event that sends none."""
    texts = (_INSTANCE_TEXTS if sender is Sender.INSTANCE else _GROUP_TEXTS).get(event)
    if texts is None:
        return None
    subject, body = texts
    prefix = f"[{router_id}] " if router_id is not None else ""
    return Alert(f"{prefix}{sender.value} {name} - {subject}"[:MAX_SUBJECT], body[:MAX_BODY])


class AlertPolicy:
    """Which state changes (those `alert_for` has a mail for) become mails: those of an instance or group
    with `smtp_alert` whose state is not the one it last mailed (keepalived's last_email_state), FAULT left
    out with `no_email_faults`."""

    def __init__(self, *, no_email_faults: bool) -> None:
        self.no_email_faults = no_email_faults
        self._last: dict[tuple[Sender, str], NotifyEvent] = {}

    def due(self, sender: Sender, name: str, event: NotifyEvent) -> bool:
        """Whether this notification sends a mail; a mail that is due is recorded as sent."""
        if self.no_email_faults and event is NotifyEvent.FAULT:
            return False
        if self._last.get((sender, name)) is event:
            return False
        self._last[(sender, name)] = event
        return True


@dataclass(frozen=True)
class Step:
    """One exchange of the conversation: what we send (nothing for the server's greeting), the reply code
    that lets it go on, and the name keepalived gives the step in its error message."""

    send: bytes
    expected: int
    name: str


@dataclass(frozen=True)
class Mail:
    """An alert ready to go: from `sender` to `recipients`, introduced with `helo`."""

    helo: str
    sender: str
    recipients: tuple[str, ...]
    alert: Alert

    @classmethod
    def of(cls, defs: GlobalDefs, alert: Alert) -> Mail:
        return cls(defs.smtp_helo_name or "localhost", defs.email_from or "", tuple(defs.email), alert)

    def message(self, date: str) -> bytes:
        """The DATA part as keepalived sends it, the final dot included (no dot-stuffing: keepalived's
        bodies never start a line with one)."""
        to = ", ".join(self.recipients)[:MAX_TO]
        headers = (
            f"Date: {date}\r\nFrom: {self.sender}\r\nSubject: {self.alert.subject}\r\n"
            f"X-Mailer: Keepalived\r\nTo: {to}\r\n\r\n"
        )
        return f"{headers}{self.alert.body}\r\n\r\n.\r\n".encode()

    def conversation(self, date: str) -> list[Step]:
        return [
            Step(b"", 220, "(E)SMTP"),
            Step(f"HELO {self.helo}\r\n".encode(), 250, "HELO"),
            Step(f"MAIL FROM:<{self.sender}>\r\n".encode(), 250, "MAIL"),
            *(Step(f"RCPT TO:<{address}>\r\n".encode(), 250, "RCPT") for address in self.recipients),
            Step(b"DATA\r\n", 354, "DATA"),
            Step(self.message(date), 250, "BODY"),
            QUIT,
        ]


QUIT = Step(b"QUIT\r\n", 221, "QUIT")


def rfc822_date(seconds: float) -> str:
    """The Date header keepalived writes (local time): `Sun, 06 Dec 2026 05:23:39 +0000`."""
    return time.strftime("%a, %d %b %Y %H:%M:%S %z", time.localtime(seconds))


def reply_code(buffer: bytes) -> tuple[int | None, bytes]:
    """The code of the first complete reply in `buffer` (the last line of a multi-line reply, whose other
    lines have `-` after the code) and what follows it; None while no reply is complete. A line that does
    not start with three digits counts as code -1, which no step expects."""
    rest = buffer
    while b"\r\n" in rest:
        line, rest = rest.split(b"\r\n", 1)
        if line[3:4] == b"-":
            continue
        digits = line[:3]
        return (int(digits) if len(digits) == 3 and digits.isdigit() else -1), rest
    return None, buffer
