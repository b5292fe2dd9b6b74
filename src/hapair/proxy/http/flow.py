"""Flow control of one transport (the uvicorn pattern): reading is paused while the other side of the
proxy cannot take more, and the transport's own writing state is followed from its protocol's
pause_writing/resume_writing."""

from __future__ import annotations

import asyncio


class FlowControl:
    """`pause_reading`/`resume_reading` are idempotent; `write_paused` is True while the transport holds
    more than its high-water mark."""

    __slots__ = ("_transport", "read_paused", "write_paused")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.read_paused = False
        self.write_paused = False

    def pause_reading(self) -> None:
        if not self.read_paused and not self._transport.is_closing():
            self.read_paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused:
            self.read_paused = False
            if not self._transport.is_closing():
                self._transport.resume_reading()
