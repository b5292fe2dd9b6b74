"""nginx's sizing of its static hash tables (ngx_hash_init, ngx_hash_wildcard_init), for the messages it
gives when a table cannot be built with the configured `*_hash_max_size` and `*_bucket_size`. hapair looks
keys up in Python dicts; only nginx's verdict on the sizes is reproduced, with its arithmetic (64-bit
pointers, 64-byte cache lines)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import ConfigError
from .model.place import Place

POINTER = 8
CACHE_LINE = 64  # ngx_cacheline_size on x86-64
_MASK = (1 << 64) - 1
_MAX_ELEMENTS = 65536 - CACHE_LINE


def align(size: int, boundary: int = CACHE_LINE) -> int:
    return (size + boundary - 1) & ~(boundary - 1)


def hash_key(key: bytes) -> int:
    """ngx_hash_key: `key * 31 + c` over the bytes, in a 64-bit word."""
    value = 0
    for byte in key:
        value = (value * 31 + byte) & _MASK
    return value


def _element_size(key: bytes) -> int:
    """NGX_HASH_ELT_SIZE: a value pointer, the length, the key, aligned to a pointer."""
    return POINTER + align(len(key) + 2, POINTER)


class HashSizes:
    """One table's name (`map_hash`...) and its configured sizes; `check` says what nginx says."""

    def __init__(
        self, name: str, max_size: int, bucket_size: int, origin: Place, warn: Callable[[str], None]
    ) -> None:
        self.name = name
        self.max_size = max_size
        self.bucket_size = bucket_size
        self._origin = origin
        self._warn = warn

    def _error(self, text: str) -> ConfigError:
        return ConfigError(text, None, self._origin)

    def check(self, keys: Sequence[bytes]) -> None:
        """ngx_hash_init on `keys`: an error when a key cannot fit a bucket or the table its size; a
        warning (and the largest size) when no size up to the maximum fits every bucket."""
        name = self.name
        if self.max_size == 0:
            raise self._error(f"could not build {name}, you should increase {name}_max_size: 0")
        if self.bucket_size > _MAX_ELEMENTS:
            raise self._error(f"could not build {name}, too large {name}_bucket_size: {self.bucket_size}")
        sizes = [(hash_key(key), _element_size(key)) for key in keys]
        if any(self.bucket_size < size + POINTER for _, size in sizes):
            raise self._error(
                f"could not build {name}, you should increase {name}_bucket_size: {self.bucket_size}"
            )
        size = self._fitting_size(sizes)
        if size is None:
            size = self.max_size
            self._warn(
                f"could not build optimal {name}, you should increase either {name}_max_size: "
                f"{self.max_size} or {name}_bucket_size: {self.bucket_size}; ignoring {name}_bucket_size"
            )
        filled = [POINTER] * size
        for key, element in sizes:
            filled[key % size] += element
            if filled[key % size] > _MAX_ELEMENTS:
                raise self._error(
                    f"could not build {name}, you should increase {name}_max_size: {self.max_size}"
                )

    def _fitting_size(self, sizes: list[tuple[int, int]]) -> int | None:
        """The smallest number of buckets, from nginx's starting guess, in which every bucket fits."""
        bucket_size = self.bucket_size - POINTER
        start = len(sizes) // (bucket_size // (2 * POINTER)) or 1
        if self.max_size > 10000 and sizes and self.max_size // len(sizes) < 100:
            start = self.max_size - 1000
        for size in range(start, self.max_size + 1):
            filled = [0] * size
            for key, element in sizes:
                filled[key % size] += element
                if filled[key % size] > bucket_size:
                    break
            else:
                return size
        return None

    def check_wildcards(self, keys: Sequence[bytes]) -> None:
        """ngx_hash_wildcard_init: keys as nginx stores them (`com.example.` for `*.example.com`,
        `com.example` for `.example.com`, `www.example` for `www.example.*`), one table per level of
        labels."""
        self._check_level(sorted(keys, key=_dns_order))

    def _check_level(self, keys: list[bytes]) -> None:
        labels: list[bytes] = []
        n = 0
        while n < len(keys):
            key = keys[n]
            dot = key.find(b".")
            label = key if dot < 0 else key[:dot]
            labels.append(label)
            length = len(label) + (dot >= 0)
            below = [key[length:]] if len(key) != length else []
            i = n + 1
            while i < len(keys):
                other = keys[i]
                if other[:length] != key[:length]:
                    break
                if dot < 0 and len(other) > length and other[length : length + 1] != b".":
                    break
                below.append(other[len(label) + 1 :])
                i += 1
            if below:
                self._check_level(below)
            n = i
        self.check(labels)


_DNS_ORDER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ.", b"abcdefghijklmnopqrstuvwxyz ")


def _dns_order(key: bytes) -> bytes:
    """ngx_dns_strcmp's order: without case, `.` before every other character."""
    return key.translate(_DNS_ORDER)
