"""Where relative paths lead: nginx's prefix (`-p`) and configuration prefix (the directory of the file
given with `-c`). Includes and certificates are relative to the configuration prefix; log files, the pid
file and modules to the prefix (ngx_conf_full_name)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PREFIX = "/usr/share/nginx/"  # Debian's --prefix
DEFAULT_CONFIG = "/etc/nginx/nginx.conf"
DEFAULT_PID = "/run/nginx.pid"  # Debian's --pid-path
DEFAULT_LOCK_FILE = "/var/lock/nginx.lock"  # Debian's --lock-path


@dataclass(frozen=True, slots=True)
class Paths:
    prefix: str  # ends with "/"
    conf_prefix: str  # ends with "/"
    conf_file: str  # the -c file, made absolute as nginx does

    @classmethod
    def for_config(cls, conf_file: str, prefix: str | None = None) -> Paths:
        """nginx's ngx_process_options: `-p` gains a trailing slash, `-c` is relative to the prefix."""
        base = prefix if prefix is not None else DEFAULT_PREFIX
        if not base.endswith("/"):
            base += "/"
        full = _full_name(base, conf_file)
        return cls(prefix=base, conf_prefix=os.path.dirname(full) + "/", conf_file=full)

    def from_prefix(self, name: str) -> str:
        return _full_name(self.prefix, name)

    def from_conf_prefix(self, name: str) -> str:
        return _full_name(self.conf_prefix, name)


def _full_name(prefix: str, name: str) -> str:
    """ngx_get_full_name: absolute names stay, others are appended to the prefix as they are."""
    return name if name.startswith("/") else prefix + name
