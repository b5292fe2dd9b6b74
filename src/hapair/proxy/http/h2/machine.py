"""h2's connection as hapair's server side drives it: h2's sans-I/O state machines (frames, HPACK,
flow control, stream states) with what nginx does otherwise, and the frames hapair reads and writes
without h2's frame objects (frames.py: the frames that open request streams, the responses' frames;
docs/request-cost.md, "HTTP/2 streams" and "HTTP/2 streams, third pass").

These classes extend h2's, which are Python classes: this module stays Python where connection.py and
the other modules of the package are compiled by mypyc (hapair/compiled.py), whose native classes
cannot extend a Python class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import h2.stream
from h2.connection import AllowedStreamIDs
from hyperframe.exceptions import InvalidPaddingError
from hyperframe.frame import Frame, HeadersFrame

from .decoding import IndexedDecoder
from .frames import read_frames, send_block, send_body

if TYPE_CHECKING:
    from collections.abc import Iterable


class _UnmeasuredStream(h2.stream.H2Stream):
    """h2's stream without its check of the body against Content-Length: nginx answers a body longer or
    shorter than announced, or an announced length that is no number, with 400 on that stream; h2 would
    end the whole connection."""

    def _initialize_content_length(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        return


def server_configuration() -> h2.config.H2Configuration:
    """h2 as hapair's server side uses it: header names and values kept as bytes, and h2's own header
    validation and normalization off, hapair's reading of the header list applying nginx's rules
    (docs/request-cost.md, "HTTP/2 streams", says which check lives where). `ServerConnection` reads
    opening frames with this configuration's meaning."""
    return h2.config.H2Configuration(
        client_side=False,
        header_encoding=None,
        validate_inbound_headers=False,
        normalize_inbound_headers=False,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )


class ServerConnection(h2.connection.H2Connection):
    """h2's connection, with what nginx does otherwise: a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS
    is left to hapair to refuse, as nginx does (h2 would end the whole connection); streams are
    `_UnmeasuredStream`s; its HPACK decoder an `IndexedDecoder`; the size of each request's header block
    is kept, as nginx's `$request_length` counts it, and each new stream until hapair takes it (h2 may
    forget a stream the client reset before hapair reads its request); the frames that open request
    streams are read here (`receive_data`), and responses framed here (`send_block`, `send_body`).
    (These are h2's internals: pyproject.toml pins h2's major version.)"""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config)
        decoder = IndexedDecoder()
        decoder.max_header_list_size = self.decoder.max_header_list_size
        self.decoder = decoder
        self.block_sizes: dict[int, int] = {}
        self.begun: dict[int, h2.stream.H2Stream] = {}
        self.forget_above = 0  # how many streams h2 may hold, open and closed, before it forgets closed ones
        self.stream_limit = self.inbound_window = self.outbound_window = 0
        self._note_settings()

    def _note_settings(self) -> None:
        """The settings in force that each new stream reads (`read_frames`, `inbound_stream`), noted
        when they change: when the client acknowledges ours and when we acknowledge its own (h2 makes
        pending values current only then). The client's preface holds its first SETTINGS, acknowledged
        before any stream opens: what hapair sets before the connection starts is noted then."""
        local = self.local_settings
        self.stream_limit = local.max_concurrent_streams
        self.inbound_window = local.initial_window_size
        self.outbound_window = self.remote_settings.initial_window_size

    def _local_settings_acked(self) -> dict[h2.settings.SettingCodes | int, h2.settings.ChangedSetting]:
        changes = super()._local_settings_acked()
        self._note_settings()
        return changes

    def _acknowledge_settings(self) -> list[Frame]:
        frames = super()._acknowledge_settings()
        self._note_settings()
        return frames

    @property
    def open_inbound_streams(self) -> int:
        if len(self.streams) > self.forget_above:
            super().open_inbound_streams  # noqa: B018 -- h2 forgets its closed streams when it counts them
        return 0

    def _begin_new_stream(self, stream_id: int, allowed_ids: AllowedStreamIDs) -> h2.stream.H2Stream:
        stream = super()._begin_new_stream(stream_id, allowed_ids)
        stream.__class__ = _UnmeasuredStream
        self.begun[stream_id] = stream
        return stream

    def _receive_headers_frame(self, frame: HeadersFrame) -> tuple[list[Frame], list[h2.events.Event]]:
        self.block_sizes[frame.stream_id] = len(frame.data)
        return super()._receive_headers_frame(frame)

    # -- frames in

    def receive_data(self, data: bytes) -> list[h2.events.Event]:  # type: ignore[override]
        """h2's receive_data, with the frames that open request streams read by `read_frames`
        (frames.py, compiled) and every other frame given to h2's frame buffer and handlers in its
        turn. While h2's buffer holds something (the client's preface, a frame in pieces, a header
        block awaiting its CONTINUATION frames) everything goes through h2's path, as after a frame
        that leaves it so."""
        buffer = self.incoming_buffer
        if buffer._preamble_len or buffer._data or buffer._headers_buffer:
            return super().receive_data(data)
        events: list[h2.events.Event] = []
        try:
            read_frames(self, data, events)
        except h2.exceptions.ProtocolError as error:  # as h2's receive_data: its GOAWAY made, then raised
            self._terminate_connection(error.error_code)
            raise
        return events

    def through_h2(self, data: bytes, events: list[h2.events.Event]) -> None:
        """Frames through h2's buffer and handlers, as h2's receive_data takes them (for
        `read_frames`)."""
        buffer = self.incoming_buffer
        buffer.add_data(data)
        buffer.max_frame_size = self.max_inbound_frame_size
        try:
            for frame in buffer:
                events.extend(self._receive_frame(frame))
        except InvalidPaddingError as error:
            raise h2.exceptions.ProtocolError("Received frame with invalid padding.") from error

    def inbound_stream(self, stream_id: int) -> h2.stream.H2Stream:
        """h2's `_begin_new_stream` for a client's stream whose id the caller (`read_frames`) has
        checked."""
        stream = _UnmeasuredStream(
            stream_id,
            config=self.config,
            inbound_window_size=self.inbound_window,
            outbound_window_size=self.outbound_window,
        )
        stream.max_outbound_frame_size = self.max_outbound_frame_size
        self.streams[stream_id] = self.begun[stream_id] = stream
        self.highest_inbound_stream_id = stream_id
        return stream

    # -- frames out

    def send_block(
        self, stream: h2.stream.H2Stream, block: bytes, *, informational: bool, end_stream: bool
    ) -> int:
        """frames.py's `send_block` (connection.py calls it directly)."""
        return send_block(self, stream, block, informational=informational, end_stream=end_stream)

    def send_body(self, stream: h2.stream.H2Stream, data: bytes, *, end_stream: bool) -> None:
        """frames.py's `send_body` (connection.py calls it directly)."""
        send_body(self, stream, data, end_stream=end_stream)
