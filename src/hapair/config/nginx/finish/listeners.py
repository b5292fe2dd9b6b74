"""The addresses http servers listen on, as nginx arranges them once the block is read
(ngx_http_optimize_servers, ngx_http_init_listening): per port, addresses with `bind` first and the
wildcard last; the wildcard socket serves the addresses without `bind`; server names checked per address."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cmp_to_key

from ..fields import SERVER_NAMES_HASH_BUCKET_SIZE, SERVER_NAMES_HASH_MAX_SIZE
from ..state import AddressState, HttpState
from .names import DEFAULT_BUCKET_SIZE, DEFAULT_MAX_SIZE, bucket_size, check_server_names


@dataclass(frozen=True, slots=True)
class ArrangedAddress:
    address: AddressState
    own_socket: bool


def _compare(first: AddressState, second: AddressState) -> int:
    """ngx_http_cmp_conf_addrs."""
    if first.options.address.wildcard:
        return 1
    if second.options.address.wildcard:
        return -1
    if first.options.bind != second.options.bind:
        return -1 if first.options.bind else 1
    return 0


def arrange_addresses(state: HttpState, warn: Callable[[str], None]) -> list[ArrangedAddress]:
    arranged: list[ArrangedAddress] = []
    sizes = (
        state.level.value(SERVER_NAMES_HASH_MAX_SIZE, DEFAULT_MAX_SIZE),
        bucket_size(state.level.value(SERVER_NAMES_HASH_BUCKET_SIZE, DEFAULT_BUCKET_SIZE)),
    )
    for port in state.ports:
        addresses = sorted(port.addresses, key=cmp_to_key(_compare))
        for address in addresses:
            if len(address.servers) > 1 or address.default_server.captures:
                check_server_names(address, warn, sizes)
        wildcard = addresses[-1].options.address.wildcard
        for address in addresses:
            own = not wildcard or address.options.bind or address is addresses[-1]
            arranged.append(ArrangedAddress(address, own))
    return arranged
