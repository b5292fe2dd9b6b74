"""An SMTP sink for the alert tests (aiosmtpd): `python smtp_sink.py ADDRESS PORT FILE` accepts every mail
and appends it to FILE as one JSON object a line (the HELO name, the envelope, the message as received),
after printing `ready` once it listens."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class Recorder:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        record = {
            "helo": session.host_name,
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "message": (envelope.original_content or b"").decode(errors="replace"),
        }
        with self.path.open("a") as file:
            file.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


async def main(address: str, port: int, path: Path) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Recorder(path)), address, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
