"""Messages in nginx's words, and the error that stops a read.

nginx stops at its first `[emerg]`; `[warn]` messages do not stop it. Both print as
`nginx: [level] text in file:line`, without the place when nginx names none (it does not for the checks it
makes after reading, such as unknown variables or certificate files). hapair still knows which directive
led to such an error: `ConfigError.origin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .model.place import Place


class Severity(Enum):
    EMERG = "emerg"
    CRIT = "crit"
    WARN = "warn"


MAX_CONF_ERRSTR = 1024  # nginx's buffer for a message about a directive (NGX_MAX_CONF_ERRSTR)


@dataclass(frozen=True, slots=True)
class Message:
    """`directive`: nginx reports it while handling a directive (ngx_conf_log_error), which cuts the text
    to 1024 bytes before adding the place."""

    severity: Severity
    text: str
    place: Place | None = None
    directive: bool = True

    def render(self) -> str:
        return f"nginx: [{self.severity.value}] {self.located()}"

    def located(self) -> str:
        """The text with its place, as an error log line carries it after the level."""
        text = self.text
        if self.directive and self.place is not None:
            text = text.encode("utf-8", "surrogateescape")[:MAX_CONF_ERRSTR].decode(
                "utf-8", "surrogateescape"
            )
        where = f" in {self.place}" if self.place is not None else ""
        return f"{text}{where}"


class ConfigError(Exception):
    """nginx's `[emerg]` (rarely `[crit]`): the configuration cannot be used. `origin` is the directive it
    comes from, even when nginx's message names no place."""

    def __init__(
        self,
        text: str,
        place: Place | None,
        origin: Place | None = None,
        severity: Severity = Severity.EMERG,
        *,
        directive: bool = True,
    ) -> None:
        super().__init__(text)
        self.message = Message(severity, text, place, directive)
        self.origin = origin if origin is not None else place

    @classmethod
    def after_reading(cls, text: str, place: Place) -> ConfigError:
        """An error nginx finds once a block is read, naming the place of what it concerns (ngx_log_error
        with the place in its text)."""
        return cls(text, place, directive=False)

    def __str__(self) -> str:
        return self.message.render()

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled (a reading in a child process, forked.py) with what __init__ takes, not only `text`."""
        message = self.message
        return _config_error, (message, self.origin)


def _config_error(message: Message, origin: Place | None) -> ConfigError:
    return ConfigError(message.text, message.place, origin, message.severity, directive=message.directive)


def os_error_text(error: OSError) -> str:
    """nginx's `(errno: strerror)` suffix."""
    return f"({error.errno}: {error.strerror})"
