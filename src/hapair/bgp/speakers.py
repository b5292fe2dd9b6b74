"""The speaker edges: how an announce or withdraw reaches the BGP speaker that talks to the routers.

- ExaBGP runs `hapair bgp` as one of its processes (`process hapair { run hapair bgp ...; encoder text; }`
  and `api { processes [ hapair ]; }` in its neighbour) and reads its standard output: one
  `announce route VIP/32 next-hop self` or `withdraw route VIP/32 next-hop self` line per change.
- BIRD learns routes from a kernel table of hapair's own (its `kernel` protocol with `learn`, on `table
  N`) and exports them over BGP: announcing adds `VIP/32 dev lo` to that table, withdrawing removes it.
  The route only names what is announced; the VIP itself stays on the loopback, serving."""

from __future__ import annotations

import errno
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TextIO

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from .announcer import Action
from .config import BgpConfig

RTPROT_STATIC = 4  # BIRD's `learn` takes any origin but the kernel's and its own


class Speaker(Protocol):
    def apply(self, action: Action) -> None: ...


class ExaBgpSpeaker:
    """Writes ExaBGP's text API commands to `output` (ExaBGP reads the process's standard output)."""

    def __init__(self, output: TextIO = sys.stdout) -> None:
        self.output = output

    def apply(self, action: Action) -> None:
        verb = "announce" if action.announce else "withdraw"
        self.output.write(f"{verb} route {action.vip}/32 next-hop self\n")
        self.output.flush()


class BirdSpeaker:
    """Adds and removes `VIP/32 dev lo` in kernel table `table`, which BIRD learns and exports.

    The netlink calls run in a thread of their own and are waited for (a local table's change takes well
    under a millisecond): pyroute2's synchronous IPRoute cannot run inside the daemon's event loop."""

    def __init__(self, table: int) -> None:
        self.table = table
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink")

    def apply(self, action: Action) -> None:
        self._thread.submit(self._apply, action).result()

    def _apply(self, action: Action) -> None:
        with IPRoute() as ipr:
            if action.announce:
                ipr.route("replace", **self._route(ipr, action.vip))
                return
            try:
                ipr.route("del", **self._route(ipr, action.vip))
            except NetlinkError as error:
                if error.code != errno.ESRCH:
                    raise

    def clear(self, vips: list[str]) -> None:
        """Remove what an earlier run may have left in the table: hapair starts withdrawn."""
        for vip in vips:
            self.apply(Action(vip, False, "start", 0.0))

    def _route(self, ipr: IPRoute, vip: str) -> dict[str, object]:
        return {
            "dst": f"{vip}/32",
            "table": self.table,
            "proto": RTPROT_STATIC,
            "oif": ipr.link_lookup(ifname="lo")[0],
        }


def speaker_for(config: BgpConfig) -> BirdSpeaker | ExaBgpSpeaker:
    """The configuration's speaker; BIRD's table cleared of what an earlier run may have left."""
    if config.speaker == "exabgp":
        return ExaBgpSpeaker(sys.stdout)
    assert config.table is not None
    speaker = BirdSpeaker(config.table)
    speaker.clear([vip.address for vip in config.vips])
    return speaker
