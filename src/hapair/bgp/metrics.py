"""`hapair bgp --metrics ADDR:PORT` (and `hapair node --bgp ... --metrics`): the announcers' Prometheus
metrics (issue 15's, for BGP mode). A prometheus-client collector that reads the announcers at each
scrape, in the exposition's thread; the event loop sets plain values, so it takes no lock (a scrape may
see a VIP's state and not yet its new reason, never a torn value).

Per VIP (label `vip`): announced (1) or withdrawn (0), since when (Unix time of the current state and
reason), drained, why it is withdrawn (`cause`: "drained" or the name of the source that is down, one
series set to 1; none while announced: the free-text reason stays in `hapair status`, as a label it would
make a series per detail), announcements and withdrawals counted; per VIP and source (`source`): up (1)
or down (0), none before its first verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .announcer import Announcer


class BgpCollector(Collector):
    """The metrics of the announcers `announcers()` gives, now."""

    def __init__(self, announcers: Callable[[], Iterable[Announcer]]) -> None:
        self._announcers = announcers

    def collect(self) -> Iterator[Metric]:
        announcers = list(self._announcers())
        for name, what, value in (
            ("announced", "1 while the VIP is announced, 0 while withdrawn", lambda a: int(a.announced)),
            ("since_seconds", "Unix time since which its state and reason hold", lambda a: a.since),
            ("drained", "1 while drained by the administrator", lambda a: int(a.drained)),
        ):
            gauge = GaugeMetricFamily(f"hapair_bgp_vip_{name}", what, labels=("vip",))
            for announcer in announcers:
                gauge.add_metric([announcer.vip], value(announcer))
            yield gauge
        cause = GaugeMetricFamily(
            "hapair_bgp_vip_withdrawn_by",
            'why a VIP is withdrawn: "drained" or the source that is down (1; none while announced)',
            labels=("vip", "cause"),
        )
        for announcer in announcers:
            if announcer.cause is not None:
                cause.add_metric([announcer.vip, announcer.cause], 1)
        yield cause
        for name, what, count in (
            ("announcements", "changes to announced", lambda a: a.announcements),
            ("withdrawals", "changes to withdrawn", lambda a: a.withdrawals),
        ):
            counter = CounterMetricFamily(f"hapair_bgp_vip_{name}", what, labels=("vip",))
            for announcer in announcers:
                counter.add_metric([announcer.vip], count(announcer))
            yield counter
        sources = GaugeMetricFamily(
            "hapair_bgp_source_up",
            "1 while a health source a VIP follows is up, 0 while down (none before its first verdict)",
            labels=("vip", "source"),
        )
        for announcer in announcers:
            for source, (up, _) in announcer.source_states().items():
                if up is not None:
                    sources.add_metric([announcer.vip, source], int(up))
        yield sources
