"""`hapair vrrp --metrics ADDR:PORT`: the VRRP engine's Prometheus metrics (issue 15), hapair's own
(keepalived has an SNMP MIB, no Prometheus exposition). A prometheus-client collector that reads, at each
scrape, the snapshots the dumps use (daemon.py's RouterSnapshot) and the scripts' states; the scrape runs
in the exposition's thread and reads plain values the event loop sets, so it takes no lock (a scrape may
see one counter of an advert and not yet the next, never a torn value).

Per instance (labels `vrrp_instance`, `interface`, `vrid`): its state (one series per state, 1 for the current
one), effective, base and master priorities, transitions to and from MASTER, adverts sent and received,
priority-0 adverts, and each receive-side drop counter keepalived keeps (`reason`: the counter's name in
keepalived.stats). Per `vrrp_script`: whether it is good (1), bad (0); a script not yet known has none."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..config.keepalived.model.vrrp import VrrpState

if TYPE_CHECKING:
    from .daemon import RouterSnapshot
    from .tracking import ScriptState

_LABELS = ("vrrp_instance", "interface", "vrid")  # `instance` is Prometheus's own (the target)
# keepalived.stats' receive-side error counters (vrrp/stats.py)
DROP_REASONS = (
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "chk_err",
    "vers_err",
    "vrid_err",
)


class VrrpCollector(Collector):
    """The metrics of the routers `views()` gives and the scripts `scripts()` gives, now."""

    def __init__(
        self,
        views: Callable[[], Iterable[RouterSnapshot]],
        scripts: Callable[[], Mapping[str, ScriptState]],
    ) -> None:
        self._views = views
        self._scripts = scripts

    def collect(self) -> Iterator[Metric]:
        views = list(self._views())
        yield _states(views)
        for name, what, value in (
            ("effective_priority", "the priority it advertises now", lambda v: v.effective_priority),
            ("base_priority", "its configured priority", lambda v: v.instance.base_priority),
            (
                "master_priority",
                "the priority of the master it last heard (0: none)",
                lambda v: v.master_priority,
            ),
        ):
            gauge = GaugeMetricFamily(f"hapair_vrrp_instance_{name}", what, labels=_LABELS)
            for view in views:
                gauge.add_metric(_labels(view), value(view))
            yield gauge
        for name, what, counter in (
            ("became_master", "transitions to MASTER", "become_master"),
            ("released_master", "transitions from MASTER", "release_master"),
            ("adverts_sent", "adverts sent", "advert_sent"),
            ("adverts_received", "adverts received", "advert_rcvd"),
            ("priority_zero_sent", "priority-0 adverts sent (a master stepping down)", "pri_zero_sent"),
            ("priority_zero_received", "priority-0 adverts received", "pri_zero_rcvd"),
        ):
            family = CounterMetricFamily(f"hapair_vrrp_{name}", what, labels=_LABELS)
            for view in views:
                family.add_metric(_labels(view), getattr(view.stats, counter))
            yield family
        yield _drops(views)
        yield _scripts(self._scripts())


def _labels(view: RouterSnapshot) -> list[str]:
    instance = view.instance
    return [instance.name, instance.interface or "", str(instance.vrid)]


def _states(views: list[RouterSnapshot]) -> Metric:
    gauge = GaugeMetricFamily(
        "hapair_vrrp_instance_state", "1 for the instance's state now", labels=[*_LABELS, "state"]
    )
    for view in views:
        for state in VrrpState:
            gauge.add_metric([*_labels(view), state.name], 1 if view.state is state else 0)
    return gauge


def _drops(views: list[RouterSnapshot]) -> Metric:
    family = CounterMetricFamily(
        "hapair_vrrp_received_dropped",
        "adverts dropped on receipt, by keepalived's counter",
        labels=[*_LABELS, "reason"],
    )
    for view in views:
        for reason in DROP_REASONS:
            family.add_metric([*_labels(view), reason], getattr(view.stats, reason))
    return family


def _scripts(scripts: Mapping[str, ScriptState]) -> Metric:
    gauge = GaugeMetricFamily(
        "hapair_vrrp_script_ok", "1 while a vrrp_script is good, 0 while bad", labels=["script"]
    )
    for name, state in sorted(scripts.items()):
        ok = state.ok
        if ok is not None:
            gauge.add_metric([name], 1 if ok else 0)
    return gauge
