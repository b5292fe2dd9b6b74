"""Server names on one address:port (ngx_http_server_names, ngx_hash_add_key): exact names, wildcards
`*.example.com`, `.example.com`, `www.example.*`, and regular expressions. A name already taken on the
address is ignored with nginx's warning; a malformed wildcard is an error."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from ..state import AddressState

# an exact name longer than this does not fit server_names_hash_bucket_size 64 (NGX_HASH_ELT_SIZE)
MAX_EXACT_NAME = 46


class _NameTable:
    """ngx_hash_keys_arrays_t: what is taken, to find conflicts."""

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.head: set[str] = set()  # "*.example.com" and ".example.com", stored as "example.com"
        self.tail: set[str] = set()  # "www.example.*", stored as "www.example."
        self.exact_keys: list[str] = []

    def add(self, name: str) -> bool | None:
        """True when added, False when taken (NGX_BUSY), None when invalid (NGX_DECLINED)."""
        if name.count("*") > 1 or ".." in name:
            return None
        if len(name) > 1 and name.startswith("."):
            return self._add_head(name[1:], also_exact=True)
        if len(name) > 2 and name.startswith("*."):
            return self._add_head(name[2:], also_exact=False)
        if len(name) > 2 and name.endswith(".*"):
            return self._add_wildcard(self.tail, name[:-1])
        if "*" in name:
            return None
        if name in self.exact:
            return False
        self.exact.add(name)
        self.exact_keys.append(name)
        return True

    def _add_head(self, domain: str, also_exact: bool) -> bool:
        if also_exact:
            if domain in self.exact:
                return False
            self.exact.add(domain)
        return self._add_wildcard(self.head, domain)

    @staticmethod
    def _add_wildcard(taken: set[str], key: str) -> bool:
        if key in taken:
            return False
        taken.add(key)
        return True


def check_server_names(address: AddressState, warn: Callable[[str], None]) -> None:
    table = _NameTable()
    text = address.options.address.text
    for server in address.servers:
        for name in server.names:
            if name.startswith("~"):
                continue
            added = table.add(name)
            if added is None:
                raise ConfigError(f'invalid server name or wildcard "{name}" on {text}', None, server.place)
            if not added:
                warn(f'conflicting server name "{name}" on {text}, ignored')
    if any(len(name) > MAX_EXACT_NAME for name in table.exact_keys):
        raise ConfigError(
            "could not build server_names_hash, you should increase server_names_hash_bucket_size: 64",
            None,
            address.servers[0].place,
        )
