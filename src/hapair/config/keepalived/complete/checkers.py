"""Completion checks of keepalived's checker process, in its order (check_daemon.c `start_check` under
`-t`): link virtual servers to their groups (ipwrapper.c `link_vsg_to_vs`), check and complete each
virtual server, its real servers and checkers (check_data.c `validate_check_config`), then the security
of the scripts it would run (`check_check_script_security`).

One difference from keepalived 2.2.7: a group's virtual server whose family cannot be told is set to IPv4,
as keepalived's message says (keepalived leaves it unset).
"""

from __future__ import annotations

from ..diagnostics import Severity
from ..model.check_data import CheckData
from ..model.checkers import (
    DEFAULT_SCHEDULER,
    PERSISTENT_TIMEOUT,
    AddressRange,
    Forwarding,
    MiscCheck,
    Protocol,
    RealServer,
    ServiceFlag,
    SocketAddress,
    VirtualServer,
    ip_text,
)
from ..model.scripts import (
    SC_EXECUTABLE,
    SC_INHIBIT,
    SC_INSECURE,
    SC_ISSCRIPT,
    SC_NOTFOUND,
    SC_SYSTEM,
    script_text,
)
from .context import Completion
from .scripts import check_script_secure, script_allowed

UINT32_MASK = 0xFFFFFFFF


def complete(completion: Completion) -> None:
    data = completion.config.checkers
    link_groups(completion, data)
    for vs in completion.each(list(data.virtual_servers)):
        validate_virtual_server(completion, data, vs)
    inherit_checker_settings(data)
    check_script_security(completion, data)


# -- link_vsg_to_vs -----------------------------------------------------------------------------------------
def link_groups(completion: Completion, data: CheckData) -> None:
    """Each `virtual_server group NAME` gets its group and the family of its addresses; the virtual servers
    of a group are numbered in order."""
    for vs in completion.each(list(data.virtual_servers)):
        if vs.group_name is None:
            continue
        group = vs.group = data.find_group(vs.group_name)
        if group is None:
            completion.log(
                f"Virtual server group {vs.group_name} specified but not configured - ignoring virtual "
                f"server {vs.name}"
            )
            data.virtual_servers.remove(vs)
            continue
        group_family = None if group.have_ipv4 == group.have_ipv6 else 4 if group.have_ipv4 else 6
        if group.have_ipv4 and group.have_ipv6 and vs.family is not None:
            completion.log(
                f"{vs.group_name}: virtual server group with IPv4 & IPv6 doesn't match virtual server "
                f"{vs.name} - ignoring"
            )
            data.virtual_servers.remove(vs)
        elif group_family is not None and vs.family not in (None, group_family):
            completion.log(
                f"{vs.group_name}: address family doesn't match virtual server {vs.name} - ignoring"
            )
            data.virtual_servers.remove(vs)
        elif group_family is not None:
            vs.family = group_family
        elif vs.family is None and group.fwmark_no_family:
            completion.log(
                f"{vs.group_name}: Virtual server {vs.name} address family cannot be determined, defaulting "
                "to IPv4"
            )
            vs.family = 4
    for group in data.groups:
        members = [vs for vs in data.virtual_servers if vs.group_name == group.name]
        for sequence, vs in enumerate(members):
            vs.group_sequence = sequence


# -- validate_check_config ----------------------------------------------------------------------------------
def validate_virtual_server(completion: Completion, data: CheckData, vs: VirtualServer) -> None:
    error = completion.error
    if not vs.real_servers:
        error(f"Virtual server {vs.name} has no real servers - ignoring")
        data.virtual_servers.remove(vs)
        return
    group = vs.group
    fwmarks = bool(vs.fwmark or (group and group.fwmarks))
    if vs.ha_suspend and fwmarks:
        error(f"Virtual server {vs.name}: cannot use ha_suspend with fwmarks - clearing ha_suspend")
        vs.ha_suspend = False
    if (group and group.ranges) or (not group and not vs.fwmark):
        if vs.protocol is None:
            error(f"Virtual server {vs.name}: no protocol set - defaulting to UDP")
            vs.protocol = Protocol.UDP
        if vs.flags & ServiceFlag.ONE_PACKET and vs.protocol != Protocol.UDP:
            error(f"Virtual server {vs.name}: one packet scheduling requires UDP - resetting")
            vs.flags &= ~ServiceFlag.ONE_PACKET
        if not vs.persistence_timeout and not group and vs.address is not None and not vs.address.port:
            error(f"Virtual server {vs.name}: zero port only valid for persistent services - setting")
            vs.persistence_timeout = PERSISTENT_TIMEOUT
    if not vs.persistence_timeout and group and any(not r.port for r in group.ranges):
        error(f"Virtual server {vs.name}: zero port only valid for persistent services - setting")
        vs.persistence_timeout = PERSISTENT_TIMEOUT
    if vs.protocol is not None and (
        (group and not group.ranges and group.fwmarks) or (not group and vs.fwmark)
    ):
        error(f"Warning: Virtual server {vs.name}: protocol specified for fwmark - protocol will be ignored")
        vs.protocol = None
    if vs.scheduler is None:
        error(f"Virtual server {vs.name}: no scheduler set, setting default '{DEFAULT_SCHEDULER}'")
        vs.scheduler = DEFAULT_SCHEDULER
    if vs.smtp_alert is None:
        vs.smtp_alert = _global_smtp_alert(completion, default=False)
    weight_sum = 0
    for rs in list(vs.real_servers):
        weight_sum = (weight_sum + _complete_real_server(completion, vs, rs)) & UINT32_MASK
    sorry = vs.sorry_server
    if sorry is not None and sorry.forwarding is None:
        sorry.forwarding = _vs_forwarding(completion, vs)
    if vs.quorum > weight_sum:
        error(
            f"Warning - quorum {vs.quorum} for {vs.name} exceeds total weight of real servers {weight_sum}, "
            f"reducing quorum to {weight_sum}"
        )
        vs.quorum = weight_sum
    if vs.hysteresis >= vs.quorum:
        hysteresis = (vs.quorum - 1) & UINT32_MASK
        error(
            f"Virtual server {vs.name}: hysteresis {vs.hysteresis} >= quorum {vs.quorum}; setting hysteresis "
            f"to {hysteresis}"
        )
        vs.hysteresis = hysteresis
    if group:
        _check_group_ports(completion, vs, group.ranges, bool(group.fwmarks))
    else:
        _fix_ports(completion, vs)


def _global_smtp_alert(completion: Completion, *, default: bool) -> bool:
    defaults = completion.config.global_defs
    if defaults.smtp_alert_checker is not None:
        return defaults.smtp_alert_checker
    return defaults.smtp_alert if defaults.smtp_alert is not None else default


def _vs_forwarding(completion: Completion, vs: VirtualServer) -> Forwarding:
    if vs.forwarding is None:
        completion.error(f"Virtual server {vs.name}: no forwarding method set, setting default NAT")
        vs.forwarding = Forwarding("NAT")
    return vs.forwarding


def _complete_real_server(completion: Completion, vs: VirtualServer, rs: RealServer) -> int:
    """A real server's checks and inherited values; returns the weight it adds (0 if removed)."""
    earlier = vs.real_servers[: vs.real_servers.index(rs)]
    if any(other.address == rs.address for other in earlier):
        completion.error(f"VS {vs.name}: real server {vs.server_name(rs)} is duplicated - removing second rs")
        vs.real_servers.remove(rs)
        return 0
    if rs.forwarding is None:
        rs.forwarding = _vs_forwarding(completion, vs)
    rs.alpha = vs.alpha if rs.alpha is None else rs.alpha
    if rs.inhibit_on_failure is None:
        rs.inhibit_on_failure = vs.inhibit_on_failure
    for attr in ("retry", "connect_timeout_us", "delay_loop_us", "warmup_us", "delay_before_retry_us"):
        if getattr(rs, attr) is None:
            setattr(rs, attr, getattr(vs, attr))
    if rs.weight is None:
        rs.weight = vs.weight
    if rs.smtp_alert is None:
        rs.smtp_alert = _global_smtp_alert(completion, default=True)
    sorry = vs.sorry_server
    if sorry is not None and sorry.address == rs.address:
        if sorry.inhibit_on_failure != rs.inhibit_on_failure:
            action = "sett" if rs.inhibit_on_failure else "clear"
            completion.error(
                f"Virtual server {vs.name}: real server {vs.server_name(rs)} matches sorry server, but "
                f"inhibit setting differs, {action}ing on sorry server"
            )
            sorry.inhibit_on_failure = rs.inhibit_on_failure
        vs.sorry_server_is_real_server = True
    return rs.weight


def _nat(server: RealServer) -> bool:
    return server.forwarding is not None and server.forwarding.method == "NAT"


def _group_entry_text(entry: AddressRange) -> str:
    """keepalived's `format_vsge` for an address entry."""
    if entry.start != entry.end:
        return f"{ip_text(entry.start)}-{ip_text(entry.end)},{entry.port}"
    return f"{ip_text(entry.start)},{entry.port}"


def _check_group_ports(
    completion: Completion, vs: VirtualServer, ranges: list[AddressRange], fwmarks: bool
) -> None:
    """Unless NAT, real servers of a group take the group's ports (or none, for firewall marks)."""
    error, sorry = completion.error, vs.sorry_server
    routed = [rs for rs in vs.real_servers if not _nat(rs)]
    sorry_port = sorry.address.port if sorry is not None and not _nat(sorry) else 0
    if fwmarks:
        for rs in routed:
            if rs.address.port:
                error(
                    f"WARNING - fwmark virtual server {vs.name}, real server {vs.server_name(rs)} has port "
                    "specified - port will be ignored"
                )
        if sorry_port:
            error(
                f"WARNING - fwmark virtual server {vs.name}, sorry server has port specified - port will be "
                "ignored"
            )
    for entry in ranges:
        for rs in routed:
            if rs.address.port and rs.address.port != entry.port:
                error(
                    f"virtual server {vs.name}:[{_group_entry_text(entry)}] and real server "
                    f"{vs.server_name(rs)} ports don't match"
                )
        if sorry_port and sorry_port != entry.port:
            error(
                f"WARNING - virtual server {vs.name}, sorry server has port specified - port will be ignored"
            )


def _fix_ports(completion: Completion, vs: VirtualServer) -> None:
    """Unless NAT, a real server takes the virtual server's port (none for a firewall mark)."""
    vs_port = vs.address.port if vs.address is not None else 0
    for rs in vs.real_servers:
        port = rs.address.port
        if _nat(rs):
            if not vs.fwmark and not port:
                rs.address = SocketAddress(rs.address.address, vs_port)
            continue
        if vs.fwmark and port:
            completion.error(
                f"WARNING - fwmark virtual server {vs.name}, real server {vs.server_name(rs)} has port "
                "specified - clearing"
            )
        elif not vs.fwmark and port and port != vs_port:
            completion.error(
                f"WARNING - virtual server {vs.name} and real server {vs.server_name(rs)} ports don't match "
                "- resetting"
            )
        rs.address = SocketAddress(rs.address.address, 0 if vs.fwmark else vs_port)
    sorry = vs.sorry_server
    if sorry is None or _nat(sorry):
        return
    port = sorry.address.port
    if vs.fwmark and port:
        completion.error(f"WARNING - virtual server {vs.name}, sorry server has port specified - clearing")
    elif not vs.fwmark and port and port != vs_port:
        completion.error(f"WARNING - virtual server {vs.name} and sorry server ports don't match - resetting")
    sorry.address = SocketAddress(sorry.address.address, 0 if vs.fwmark else vs_port)


def inherit_checker_settings(data: CheckData) -> None:
    """Each checker takes what it does not set from its real server, then from its kind's defaults."""
    for vs in data.virtual_servers:
        for rs in vs.real_servers:
            for checker in rs.checkers:
                if checker.alpha is None:
                    checker.alpha = rs.alpha
                if not checker.runs_checks:
                    continue
                if checker.retry is None:
                    checker.retry = rs.retry if rs.retry is not None else checker.default_retry
                if checker.connection is not None and checker.connection.timeout_us is None:
                    checker.connection.timeout_us = rs.connect_timeout_us
                if checker.delay_loop_us is None:
                    checker.delay_loop_us = rs.delay_loop_us
                if checker.warmup_us is None:
                    checker.warmup_us = rs.warmup_us if rs.warmup_us is not None else checker.delay_loop_us
                if checker.delay_before_retry_us is None:
                    checker.delay_before_retry_us = (
                        rs.delay_before_retry_us
                        if rs.delay_before_retry_us is not None
                        else checker.default_delay_before_retry_us or checker.delay_loop_us
                    )


# -- check_check_script_security ----------------------------------------------------------------------------
def check_script_security(completion: Completion, data: CheckData) -> None:
    """MISC_CHECK scripts that may not run are removed with their checker, notify scripts are dropped."""
    if not data.virtual_servers:
        return
    flags = 0
    for vs in data.virtual_servers:
        for rs in completion.each(vs.real_servers):
            for misc in [c for c in rs.checkers if isinstance(c, MiscCheck)]:
                flags |= _check_misc_script(completion, rs, misc)
    for vs in data.virtual_servers:
        for owner, attr in [(vs, "quorum_up"), (vs, "quorum_down")] + [
            (rs, kind) for rs in vs.real_servers for kind in ("notify_up", "notify_down")
        ]:
            with completion.about(owner):
                flags |= _check_notify_script(completion, owner, attr)
    defaults = completion.config.global_defs
    for fifo in (defaults.notify_fifo, defaults.lvs_notify_fifo):
        # The VRRP process's checks drop an insecure fifo script from the shared settings later.
        if fifo.script is not None:
            flags |= check_script_secure(completion, fifo.script)
    if not defaults.script_security and flags & SC_ISSCRIPT:
        insecure = " There are insecure scripts." if flags & SC_INSECURE else ""
        completion.report(
            Severity.SECURITY_ERROR,
            "SECURITY VIOLATION - check scripts are being executed but script_security not enabled."
            + insecure,
        )


def _check_notify_script(completion: Completion, owner: VirtualServer | RealServer, attr: str) -> int:
    """A quorum or notify script of a server: dropped if it may not run."""
    script = getattr(owner, attr)
    if script is None:
        return 0
    checked = check_script_secure(completion, script)
    if not script_allowed(checked):
        setattr(owner, attr, None)
    return checked


def _check_misc_script(completion: Completion, rs: RealServer, misc: MiscCheck) -> int:
    """keepalived's `check_misc_script_security` for one checker."""
    assert misc.script is not None
    flags = check_script_secure(completion, misc.script)
    if flags & SC_INHIBIT:
        completion.log(f"Disabling misc script {script_text(misc.script)} due to insecure")
    elif flags & SC_NOTFOUND:
        completion.log(f"Disabling misc script {script_text(misc.script)} since not found/accessible")
    if flags & (SC_INHIBIT | SC_NOTFOUND) or not flags & (SC_EXECUTABLE | SC_SYSTEM):
        rs.checkers.remove(misc)
    return flags
