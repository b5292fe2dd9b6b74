"""keepalived's SMTP alerts, pure (hapair.vrrp.alerts): which notifications mail, the subjects and bodies
of core/smtp.c and vrrp_notify.c, the message and conversation, and the reading of the server's replies."""

from __future__ import annotations

import pytest

from hapair.config.keepalived.model.global_defs import GlobalDefs
from hapair.vrrp.actions import NotifyEvent
from hapair.vrrp.alerts import QUIT, Alert, AlertPolicy, Mail, Sender, alert_for, reply_code


@pytest.mark.parametrize(
    ("event", "subject", "body"),
    [
        (NotifyEvent.MASTER, "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
        (NotifyEvent.BACKUP, "Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
        (NotifyEvent.FAULT, "Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
        (NotifyEvent.STOP, "Stopping", "=> VRRP Instance stopping <="),
        (NotifyEvent.DELETED, "Deleted", "=> VRRP Deleted at reload <="),
    ],
)
def test_an_instance_mails_keepalived_s_subject_and_body(event, subject, body):
    assert alert_for(Sender.INSTANCE, "VI_1", event, "LB_1") == Alert(
        f"[LB_1] VRRP Instance VI_1 - {subject}", body
    )


def test_a_group_mails_keepalived_s_group_texts():
    alert = alert_for(Sender.GROUP, "G1", NotifyEvent.MASTER, "LB_1")
    assert alert == Alert(
        "[LB_1] VRRP Group G1 - Entering MASTER state",
        "=> All VRRP group instances are now in MASTER state <=",
    )
    assert alert_for(Sender.GROUP, "G1", NotifyEvent.DELETED, "LB_1") is None


def test_a_lower_priority_advert_mails_nothing_and_the_subject_is_cut_as_keepalived_cuts_it():
    assert alert_for(Sender.INSTANCE, "VI_1", NotifyEvent.MASTER_RX_LOWER_PRI, "LB_1") is None
    long = alert_for(Sender.INSTANCE, "VI_1", NotifyEvent.MASTER, "x" * 300)
    assert long is not None
    assert len(long.subject) == 255


def test_a_state_is_mailed_once_until_it_changes():
    policy = AlertPolicy(no_email_faults=False)
    events = [NotifyEvent.BACKUP, NotifyEvent.BACKUP, NotifyEvent.MASTER, NotifyEvent.BACKUP]
    assert [policy.due(Sender.INSTANCE, "VI_1", event) for event in events] == [True, False, True, True]
    assert policy.due(Sender.GROUP, "VI_1", NotifyEvent.BACKUP)  # a group of the same name is another sender


def test_no_email_faults_leaves_faults_out():
    policy = AlertPolicy(no_email_faults=True)
    assert not policy.due(Sender.INSTANCE, "VI_1", NotifyEvent.FAULT)
    assert policy.due(Sender.INSTANCE, "VI_1", NotifyEvent.BACKUP)


def mail() -> Mail:
    defs = GlobalDefs(
        email=["ops@example.com", "oncall@example.com"], email_from="lb1@example.com", smtp_helo_name="lb1"
    )
    return Mail.of(defs, Alert("[LB_1] VRRP Instance VI_1 - Entering MASTER state", "=> body <="))


def test_the_message_is_keepalived_s_headers_body_and_end():
    assert mail().message("Sun, 06 Dec 2026 05:23:39 +0000") == (
        b"Date: Sun, 06 Dec 2026 05:23:39 +0000\r\n"
        b"From: lb1@example.com\r\n"
        b"Subject: [LB_1] VRRP Instance VI_1 - Entering MASTER state\r\n"
        b"X-Mailer: Keepalived\r\n"
        b"To: ops@example.com, oncall@example.com\r\n"
        b"\r\n"
        b"=> body <=\r\n"
        b"\r\n.\r\n"
    )


def test_the_conversation_is_helo_mail_one_rcpt_each_data_and_quit():
    steps = mail().conversation("D")
    assert [(step.send.split(b"\r\n")[0], step.expected) for step in steps] == [
        (b"", 220),
        (b"HELO lb1", 250),
        (b"MAIL FROM:<lb1@example.com>", 250),
        (b"RCPT TO:<ops@example.com>", 250),
        (b"RCPT TO:<oncall@example.com>", 250),
        (b"DATA", 354),
        (b"Date: D", 250),
        (b"QUIT", 221),
    ]
    assert steps[-1] is QUIT
    assert Mail.of(GlobalDefs(), Alert("s", "b")).helo == "localhost"


def test_replies_are_read_to_the_last_line_of_a_multi_line_reply():
    assert reply_code(b"250-first\r\n250-second\r\n250 last\r\n354 next\r\n") == (250, b"354 next\r\n")
    assert reply_code(b"250-first\r\n250 la") == (None, b"250-first\r\n250 la")
    assert reply_code(b"hello\r\n") == (-1, b"")
