"""A lossy link for bench/chaos.py, run inside the LAN's bridge namespace, where the bridge itself drops
every VRRP packet on its way to the receiving port (tests/system/mixed.py's block_vrrp: this kernel has
no netem):

    lossy_relay.py FROM_PORT TO_PORT LOSS SEED INTERVAL

It reads the VRRP adverts that arrive on FROM_PORT (from the node behind it) and sends them out of
TO_PORT, past the port's queue and so past the block, except in the advert intervals it drops: time is cut
into INTERVAL-second slots centred on the adverts, counting from the first one, and the n-th slot is
dropped when the n-th draw of a random.Random(SEED) falls below LOSS. So every run with the same SEED loses
the same intervals, however many adverts a node sends in them (an election's extra adverts go with the
slot they fall in). One flushed line per advert (the monotonic clock is the same in every namespace, the
one the bench reads):

    F <seconds>     forwarded
    D <seconds>     dropped
"""

from __future__ import annotations

import random
import socket
import sys
import time

ETH_P_ALL = 0x0003  # on a bridge port, a tap for every protocol sees frames before the bridge takes them
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SOL_PACKET = 263  # <linux/socket.h>
PACKET_QDISC_BYPASS = 20  # <linux/if_packet.h>
VRRP_PROTOCOL = 112
ETHERNET_HEADER = 14


class Slots:
    """Whether the slot an advert falls in is dropped."""

    def __init__(self, loss: float, seed: int, interval: float) -> None:
        self.loss = loss
        self.interval = interval
        self._draws = random.Random(seed)
        self._dropped: list[bool] = []
        self._first: float | None = None

    def dropped(self, at: float) -> bool:
        if self._first is None:
            self._first = at
        slot = max(0, int((at - self._first) / self.interval + 0.5))
        while len(self._dropped) <= slot:
            self._dropped.append(self._draws.random() < self.loss)
        return self._dropped[slot]


def relay(source: str, target: str, slots: Slots) -> None:
    with (
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as inbound,
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as outbound,
    ):
        inbound.bind((source, ETH_P_ALL))
        outbound.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        outbound.bind((target, 0))
        while True:
            frame, address = inbound.recvfrom(2048)
            if address[2] == PACKET_OUTGOING or len(frame) < ETHERNET_HEADER + 20:
                continue
            if frame[12:14] != ETH_P_IP.to_bytes(2, "big") or frame[ETHERNET_HEADER + 9] != VRRP_PROTOCOL:
                continue
            at = time.monotonic()
            if slots.dropped(at):
                print(f"D {at:.6f}", flush=True)
            else:
                outbound.send(frame)
                print(f"F {at:.6f}", flush=True)


def main(argv: list[str]) -> int:
    source, target = argv[0], argv[1]
    slots = Slots(loss=float(argv[2]), seed=int(argv[3]), interval=float(argv[4]))
    try:
        relay(source, target, slots)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
