"""Address blocks as nginx reads them (ngx_ptocidr): `192.168.0.0/16`, `10.1.2.3`, `2001:db8::/32`."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from .model.access import Cidr
from .numbers import atoi
from .urls import inet6_addr, inet_addr

_V4_BITS = 32
_V6_BITS = 128


@dataclass(frozen=True, slots=True)
class ParsedCidr:
    """A block read from text; `meaningless` when the address had bits set past the mask (nginx warns
    "low address bits of ... are meaningless" and clears them)."""

    cidr: Cidr
    meaningless: bool


def parse_cidr(text: str) -> ParsedCidr | None:
    """The block `text` names, or None where nginx's ngx_ptocidr fails."""
    address_text, slash, mask_text = text.partition("/")
    ipv4 = inet_addr(address_text)
    if ipv4 is not None:
        family, address, bits = socket.AF_INET, int(ipv4), _V4_BITS
    else:
        ipv6 = inet6_addr(address_text)
        if ipv6 is None:
            return None
        family, address, bits = socket.AF_INET6, int(ipv6), _V6_BITS
    full = (1 << bits) - 1
    if not slash:
        return ParsedCidr(Cidr(family, address, full), meaningless=False)
    shift = atoi(mask_text)
    if shift is None or shift > bits:
        return None
    mask = full ^ ((1 << (bits - shift)) - 1)
    return ParsedCidr(Cidr(family, address & mask, mask), meaningless=address & mask != address)


UNIX = Cidr(socket.AF_UNIX, 0, 0)
