"""Values with variables in them (`$remote_addr`, `${host}`, `$1`), kept as text for the data plane to
evaluate. The configuration reader has already checked that every variable is one nginx knows and hapair
supports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Literal:
    text: str


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # lower case, without the `$`


@dataclass(frozen=True, slots=True)
class Capture:
    """`$1` ... `$9`: a group of the regular expression the request matched."""

    number: int


Part = Literal | Variable | Capture


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[Part, ...]

    @property
    def constant_text(self) -> str | None:
        """The text, when it has no variables or captures."""
        if all(isinstance(part, Literal) for part in self.parts):
            return "".join(part.text for part in self.parts)  # type: ignore[union-attr]
        return None

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(part.name for part in self.parts if isinstance(part, Variable))
