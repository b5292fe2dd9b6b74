"""The state the completion checks share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..diagnostics import Reporting, Severity
from ..host import Host
from ..model import KeepalivedConfig
from ..model.place import Place
from ..reader import Report
from ..session import Session


class Defined(Protocol):
    defined_at: Place | None


D = TypeVar("D", bound=Defined)


@dataclass
class Completion(Reporting):
    """keepalived runs its completion checks after the files are closed and reports them without a place;
    hapair gives the place where the object a check is about was defined (see `about`)."""

    session: Session
    _report: Report
    _place: Place | None = None

    @contextmanager
    def about(self, item: Defined) -> Iterator[None]:
        """Messages reported inside the `with` block are placed where `item` was defined."""
        outer, self._place = self._place, item.defined_at
        try:
            yield
        finally:
            self._place = outer

    @property
    def config(self) -> KeepalivedConfig:
        return self.session.config

    @property
    def host(self) -> Host:
        return self.session.host

    def each(self, items: Iterable[D]) -> Iterator[D]:
        """Iterate over `items`, each one's messages placed where it was defined."""
        for item in items:
            with self.about(item):
                yield item

    def _emit(self, severity: Severity, message: str, *, log: bool) -> None:
        place = self._place
        self._report(severity, message, place and place.file, place and place.line, log)
