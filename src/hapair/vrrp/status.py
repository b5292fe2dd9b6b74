"""`hapair status`'s view of the VRRP daemon (pure): every instance's state, priorities, master, VIPs,
tracked scripts and counters, from the snapshots the dumps use (daemon.py's RouterSnapshot)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from ..config.keepalived.model.vrrp import VrrpInstance
    from .daemon import RouterSnapshot
    from .tracking import ScriptState


def status_document(
    config_file: str, views: Iterable[RouterSnapshot], scripts: Mapping[str, ScriptState]
) -> dict[str, Any]:
    return {
        "daemon": "vrrp",
        "version": __version__,
        "pid": os.getpid(),
        "config": config_file,
        "instances": [_instance(view, scripts) for view in views],
    }


def _instance(view: RouterSnapshot, scripts: Mapping[str, ScriptState]) -> dict[str, Any]:
    instance = view.instance
    return {
        "name": instance.name,
        "interface": instance.interface,
        "vrid": instance.vrid,
        "version": instance.version,
        "state": view.state.name,
        "wanted_state": view.wantstate.name,
        "base_priority": instance.base_priority,
        "effective_priority": view.effective_priority,
        "master": {
            "address": str(view.master_address) if view.master_address is not None else None,
            "priority": view.master_priority,
        },
        "vips": [str(vip.address) for vip in instance.vips],
        "vips_held": view.vips_set,
        "tracked_scripts": {name: _script(scripts.get(name)) for name in _tracked(instance)},
        "last_transition": view.last_transition,
        "counters": dataclasses.asdict(view.stats),
    }


def _tracked(instance: VrrpInstance) -> list[str]:
    return [tracked.script.name for tracked in instance.track.scripts]


def _script(state: ScriptState | None) -> str:
    """keepalived's words for a script's state: good, bad, or not yet known (`init`)."""
    ok = state.ok if state is not None else None
    return "init" if ok is None else "good" if ok else "bad"
