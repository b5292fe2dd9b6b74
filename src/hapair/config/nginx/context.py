"""What a directive handler is given: the directive, the block it is in, and the reader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from .errors import ConfigError
from .flags import ModuleKind
from .model.place import Place
from .settings import Level
from .state import (
    HttpState,
    LocationState,
    MainState,
    ServerState,
    StreamServerState,
    StreamState,
    UpstreamState,
)


@dataclass(frozen=True, slots=True)
class Directive:
    name: str
    args: tuple[str, ...]
    place: Place

    def invalid(self, reason: str) -> ConfigError:
        """nginx's `"name" directive reason` (a handler's returned string: "is duplicate"...)."""
        return ConfigError(f'"{self.name}" directive {reason}', self.place)

    def error(self, text: str) -> ConfigError:
        return ConfigError(text, self.place)

    def unsupported(self, what: str) -> ConfigError:
        """Something nginx accepts in this directive that hapair does not implement."""
        return ConfigError(f'hapair does not support {what} in the "{self.name}" directive', self.place)


@dataclass(frozen=True, slots=True)
class Block:
    """The block being read (nginx's cf->module_type, cf->cmd_type and cf->ctx)."""

    kind: ModuleKind
    cmd_type: int
    main: MainState
    http: HttpState | None = None
    server: ServerState | None = None
    location: LocationState | None = None
    upstream: UpstreamState | None = None
    stream: StreamState | None = None
    stream_server: StreamServerState | None = None

    def level(self) -> Level:
        """Where the block's directive values go (the main context's for the core and events modules)."""
        for owner in (self.upstream, self.location, self.server, self.stream_server, self.http, self.stream):
            if owner is not None:
                return owner.level
        return self.main.level

    def inner(self, kind: ModuleKind, cmd_type: int, **states: object) -> Block:
        return replace(self, kind=kind, cmd_type=cmd_type, **states)


class Reading(Protocol):
    """The reader, as handlers see it."""

    def here(self) -> Place:
        """The current file and line: where nginx reports an error now."""

    def warn(self, text: str, place: Place | None) -> None: ...

    def parse_block(self, block: Block) -> None:
        """Read a block's directives up to its `}`."""

    def parse_lines(self, line: Callable[[list[str], Place], None]) -> None:
        """Read a block of lines that are not directives (`types`, `map`) up to its `}`."""

    def include(self, pattern: str, line: Callable[[list[str], Place], None]) -> None:
        """Read the files `pattern` names as lines of the block being read (`include` in a `map`)."""


Handler = Callable[[Block, Directive, Reading], None]
