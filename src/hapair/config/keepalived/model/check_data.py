"""Model: what the checker process reads, as a container (keepalived's `check_data_t`).

Its entries (virtual servers, groups, checkers) are in checkers.py, imported only by the modules that read
or check them: a configuration without virtual servers does not load their 20 classes (issue 15's
start-up budget for `hapair vrrp`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checkers import VirtualServer, VirtualServerGroup

LVS_MAX_TIMEOUT = 86400 * 31  # seconds: the longest IPVS timeout


@dataclass
class SslContext:
    """The `SSL { … }` block: files for the SSL_GET checkers' client context."""

    password: str | None = None
    ca: str | None = None
    certificate: str | None = None
    key: str | None = None


@dataclass
class CheckData:
    """Everything the checker process reads: groups, virtual servers, the SSL context, the BFD sessions
    `BFD_CHECK` may name (each `bfd_instance` but those limited to the VRRP process), and the largest
    PCRE2 JIT stack any url's `regex_stack` asks for."""

    ssl: SslContext | None = None
    groups: list[VirtualServerGroup] = field(default_factory=list)
    virtual_servers: list[VirtualServer] = field(default_factory=list)
    tracked_bfds: list[str] = field(default_factory=list)
    regex_stack_start: int = 0
    regex_stack_max: int = 0

    @property
    def ssl_required(self) -> bool:
        """Some SSL_GET checker needs the SSL context."""
        from .checkers import HttpCheck  # noqa: PLC0415 (already imported when there are checkers)

        return any(
            isinstance(c, HttpCheck) and c.ssl
            for vs in self.virtual_servers
            for rs in vs.real_servers
            for c in rs.checkers
        )

    def find_group(self, name: str) -> VirtualServerGroup | None:
        return next((g for g in self.groups if g.name == name), None)
