"""Keywords: `track_file` and its deprecated synonym `vrrp_track_file` (keepalived/trackers/track_file.c).

A track file holds an integer that moves the priority of the instances tracking it. The file currently
being read is kept between blocks, as keepalived keeps it in a static variable.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from ..engine import Keyword, KeywordTable, Parser, ReadingState, Words
from ..model.vrrp import TrackFile, TrackFileInit
from ..numbers import INT_MAX, INT_MIN
from ..words import WHITE_SPACE


@dataclass
class _Reading(ReadingState):
    """keepalived's `cur_track_file` and its `init_file` request."""

    current: TrackFile | None = None
    init: TrackFileInit = TrackFileInit.NONE
    init_value: int = 0

    def root(self, parser: Parser, words: Words) -> None:
        self.current = TrackFile(words.arg(1), defined_at=parser.place())
        self.init = TrackFileInit.NONE

    def deprecated_root(self, parser: Parser, words: Words) -> None:
        parser.log('"vrrp_track_file" is deprecated, please use "track_file"')
        self.root(parser, words)

    def path(self, parser: Parser, words: Words) -> None:
        if len(words) < 2:
            parser.error("track file file name missing")
            return
        current = self.current
        if current is None:
            return
        if current.path is not None:
            parser.error(f"File already set for track file {current.name} - ignoring {words[1]}")
            return
        current.path = words[1]

    def weight(self, parser: Parser, words: Words) -> None:
        current = self.current
        if current is None:
            return
        if len(words) < 2:
            parser.error(f"No weight specified for track file {current.name} - ignoring")
            return
        if current.weight != 1:
            parser.error(f"Weight already set for track file {current.name} - ignoring {words[1]}")
            return
        value = parser.read_int(words[1], -254, 254, lenient=True)
        if value is None:
            parser.error(
                f"Weight ({words[1]}) for track_file {current.name} must be between [-254..254] inclusive. "
                "Ignoring..."
            )
            value = 1
        current.weight = value
        if len(words) >= 3:
            if words[2] == "reverse":
                current.weight_reverse = True
            else:
                parser.error(f"track_file {current.name} unknown weight option {words[2]}")

    def init_file(self, parser: Parser, words: Words) -> None:
        current = self.current
        if current is None:
            return
        self.init = TrackFileInit.CREATE
        self.init_value = 0
        for text in words[1:]:
            word = text.lstrip(WHITE_SPACE)
            if word[:1].isdigit() or word[:1] == "-":
                value = parser.read_int(text, INT_MIN, INT_MAX)
                if value is None:
                    parser.error(f"Track file {current.name} init value {word} is invalid")
                    value = 0
                elif not -254 <= value <= 254:
                    parser.error(
                        f"Track file {current.name} init value {value} is outside sensible range [-254, 254]"
                    )
                self.init_value = value
            elif word == "overwrite":
                self.init = TrackFileInit.OVERWRITE
            else:
                parser.error(f"Unknown track file init option {word}")

    def end(self, parser: Parser) -> None:
        current = self.current
        if current is None:
            return
        if current.path is None:
            parser.error(f"No file set for track_file {current.name} - ignoring")
            return
        self.current = None
        current.init, current.init_value = self.init, self.init_value
        parser.config.vrrp.track_files.append(current)
        if current.init == TrackFileInit.NONE:
            return
        status = parser.host.stat(current.path)
        if status is not None and current.init == TrackFileInit.OVERWRITE and not stat.S_ISREG(status.mode):
            parser.error(f"Cannot initialise track file {current.name} - it is not a regular file")
            current.init = TrackFileInit.NONE
        elif status is not None and current.init == TrackFileInit.CREATE:
            current.init = TrackFileInit.NONE  # it exists: nothing to write


def roots() -> list[Keyword]:
    r, on = _Reading, _Reading.bind
    keywords = KeywordTable()
    for keyword in (
        Keyword("file", on(r.path)),
        Keyword("weight", on(r.weight)),
        Keyword("init_file", on(r.init_file)),
    ):
        keywords.add(keyword)
    return [
        Keyword("track_file", on(r.root), sub=keywords, close=on(r.end)),
        Keyword("vrrp_track_file", on(r.deprecated_root), sub=keywords, close=on(r.end)),
    ]
