"""Per-instance counters, as keepalived keeps them (vrrp_stats) and shows them in its stats and JSON dumps."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Stats:
    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    # the RFC MIB counters keepalived keeps beside the ones it dumps
    chk_err: int = 0
    vers_err: int = 0
    vrid_err: int = 0

    def count(self, counter: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)

    def clear(self) -> None:
        for counter in fields(self):
            setattr(self, counter.name, 0)
