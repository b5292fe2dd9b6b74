"""Link state and addresses over netlink inside a namespace: snapshots (up as keepalived judges it, the
instance source address) and the watcher's events when the veth goes down and up and addresses come
and go."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from hapair.net.links import LinkEvent, LinkWatcher, flags_up, ipv4_addresses, link_is_up

pytestmark = pytest.mark.netns
DEADLINE = 5.0


def child_link_is_up(ifname: str, expected: str) -> None:
    """Print whether the link reaches the expected state before the deadline (the kernel sets
    IFF_RUNNING a little after the link is set up)."""
    deadline = time.monotonic() + DEADLINE
    while link_is_up(ifname) != (expected == "True") and time.monotonic() < deadline:
        time.sleep(0.02)
    print(link_is_up(ifname))


def child_ipv4_addresses(ifname: str) -> None:
    print(" ".join(str(address) for address in ipv4_addresses(ifname)))


def child_watch(ifname: str, last_address: str) -> None:
    """Print the events of the interface as JSON until `last_address` is removed."""

    async def watch() -> None:
        async with LinkWatcher() as watcher:
            print("ready", flush=True)
            async for event in watcher:
                if event.ifname != ifname:
                    continue
                if isinstance(event, LinkEvent):
                    print(json.dumps({"up": event.up}), flush=True)
                elif event.address.version == 6:
                    continue  # the link-local address's comings and goings, as the link goes down and up
                else:
                    print(json.dumps({"address": str(event.address), "added": event.added}), flush=True)
                    if str(event.address.ip) == last_address and not event.added:
                        return

    asyncio.run(asyncio.wait_for(watch(), DEADLINE))


def child_close_while_iterating() -> None:
    async def iterate_until_closed() -> None:
        async with LinkWatcher() as watcher:
            iteration = asyncio.ensure_future(anext(aiter(watcher), None))
            await asyncio.sleep(0)  # let the iteration start waiting
            watcher.close()
            print(await asyncio.wait_for(iteration, DEADLINE))

    asyncio.run(iterate_until_closed())


def test_flags_up_needs_both_up_and_running():
    assert [flags_up(flags) for flags in (0x1 | 0x40, 0x1, 0x40, 0)] == [True, False, False, False]


def test_link_is_up_follows_the_veth(pair, spawn):
    pair.a.ip("link", "set", "va", "down")
    assert spawn(pair.a, child_link_is_up, "va", "False").finish() == ["False"]

    pair.a.ip("link", "set", "va", "up")
    assert spawn(pair.a, child_link_is_up, "va", "True").finish() == ["True"]


def test_link_is_up_needs_the_peer_up(pair, spawn):
    pair.b.ip("link", "set", "vb", "down")  # va stays administratively up but loses its carrier

    assert spawn(pair.a, child_link_is_up, "va", "False").finish() == ["False"]


def test_missing_link_is_not_up(pair, spawn):
    assert spawn(pair.a, child_link_is_up, "nosuch", "False").finish() == ["False"]


def test_ipv4_addresses_come_in_the_kernels_order_primaries_before_secondaries(pair, spawn):
    pair.a.ip("addr", "add", "192.0.2.100/24", "dev", "va")  # a secondary of 192.0.2.1/24
    pair.a.ip("addr", "add", "198.51.100.1/24", "dev", "va")  # a second primary, listed before it

    assert spawn(pair.a, child_ipv4_addresses, "va").finish() == ["192.0.2.1 198.51.100.1 192.0.2.100"]


def test_ipv4_addresses_of_a_missing_interface_are_none(pair, spawn):
    assert spawn(pair.a, child_ipv4_addresses, "lo").finish() == ["127.0.0.1"]
    assert spawn(pair.a, child_ipv4_addresses, "nosuch").finish() == [""]


def test_watcher_reports_link_down_and_up_and_address_changes(pair, spawn):
    watcher = spawn(pair.a, child_watch, "va", "192.0.2.7")
    assert watcher.line() == "ready"

    pair.a.ip("link", "set", "va", "down")
    assert json.loads(watcher.line()) == {"up": False}
    pair.a.ip("link", "set", "va", "up")
    assert json.loads(watcher.line()) == {"up": True}
    pair.a.ip("addr", "add", "192.0.2.7/24", "dev", "va", "label", "va:x")
    pair.a.ip("addr", "del", "192.0.2.7/24", "dev", "va")

    assert [json.loads(line) for line in watcher.finish()] == [
        {"address": "192.0.2.7/24", "added": True},
        {"address": "192.0.2.7/24", "added": False},
    ]


def test_watcher_stops_iterating_when_closed(pair, spawn):
    assert spawn(pair.a, child_close_while_iterating).finish() == ["None"]
