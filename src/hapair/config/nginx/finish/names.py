"""Server names on one address:port (ngx_http_server_names, ngx_hash_add_key): exact names, wildcards
`*.example.com`, `.example.com`, `www.example.*`, and regular expressions. A name already taken on the
address is ignored with nginx's warning; a malformed wildcard is an error."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from ..state import AddressState

CACHE_LINE = 64  # ngx_cacheline_size on x86-64: bucket sizes are rounded up to it
POINTER = 8
DEFAULT_BUCKET_SIZE = CACHE_LINE
DEFAULT_MAX_SIZE = 512


def _element_size(name: str) -> int:
    """NGX_HASH_ELT_SIZE: a pointer, then the name's length (2 bytes) and bytes, aligned to a pointer."""
    length = len(name.encode("utf-8", "surrogateescape"))
    return POINTER + (length + 2 + POINTER - 1) // POINTER * POINTER


def bucket_size(configured: int) -> int:
    return (configured + CACHE_LINE - 1) // CACHE_LINE * CACHE_LINE


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


def check_server_names(
    address: AddressState, warn: Callable[[str], None], sizes: tuple[int, int] = (DEFAULT_MAX_SIZE, 64)
) -> None:
    """`sizes`: server_names_hash_max_size and server_names_hash_bucket_size (rounded up as nginx)."""
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
    max_size, bucket = sizes
    place = address.servers[0].place
    if not table.exact_keys:
        return
    if max_size == 0:
        raise ConfigError(
            "could not build server_names_hash, you should increase server_names_hash_max_size: 0",
            None,
            place,
        )
    if bucket > 65536 - CACHE_LINE:
        raise ConfigError(
            f"could not build server_names_hash, too large server_names_hash_bucket_size: {bucket}",
            None,
            place,
        )
    if any(bucket < _element_size(name) + POINTER for name in table.exact_keys):
        raise ConfigError(
            f"could not build server_names_hash, you should increase server_names_hash_bucket_size: {bucket}",
            None,
            place,
        )
