"""Completion checks: global_defs, as keepalived's parent does them once it has read the configuration.

First the defaults derived from what was read (`init_global_data`: router id, SMTP sender and HELO name,
reload file), then the security of the start-up and shutdown scripts (keepalived's main.c, just before it
validates the children's configuration).
"""

from __future__ import annotations

from ..diagnostics import Severity
from ..model.global_defs import DEFAULT_RELOAD_FILE, DEFAULT_SMTP_CONNECTION_TIMEOUT_US, GlobalDefs
from ..model.scripts import SC_EXECUTABLE, SC_INHIBIT, SC_INSECURE, SC_ISSCRIPT, SC_NOTFOUND, SC_SYSTEM
from .context import Completion
from .scripts import check_script_secure

PID_DIR = "/run/keepalived/"
PID_FILE = "keepalived"
RELOAD_EXTENSION = ".reload"
UNKNOWN_NAME = "[unknown]"


def complete(completion: Completion) -> None:
    init_global_data(completion)
    check_start_stop_scripts(completion)


def init_global_data(completion: Completion) -> None:
    """keepalived's `init_global_data` in the parent at start-up."""
    defs = completion.config.global_defs
    if defs.reload_file == DEFAULT_RELOAD_FILE:
        defs.reload_file = _default_reload_file(defs)
    needs_name = defs.router_id is None or (
        defs.smtp_server is not None and (defs.smtp_helo_name is None or defs.email_from is None)
    )
    if defs.local_name is None and needs_name:
        defs.local_name = completion.host.canonical_name() or UNKNOWN_NAME
    if defs.router_id is None and defs.local_name:
        defs.router_id = defs.local_name
    if defs.smtp_server is None:
        return
    if not defs.smtp_connection_timeout_us:
        defs.smtp_connection_timeout_us = DEFAULT_SMTP_CONNECTION_TIMEOUT_US
    if defs.local_name and defs.local_name != UNKNOWN_NAME:
        if defs.email_from is None:
            user = completion.host.user_by_uid(completion.session.script_users.our_uid)
            if user is not None:
                defs.email_from = f"{user.name}@{defs.local_name}"
        if defs.smtp_helo_name is None:
            defs.smtp_helo_name = defs.local_name


def _default_reload_file(defs: GlobalDefs) -> str:
    if defs.instance_name is not None:
        return f"{PID_DIR}{PID_FILE}_{defs.instance_name}{RELOAD_EXTENSION}"
    if defs.use_pid_dir:
        return f"{PID_DIR}{PID_FILE}{RELOAD_EXTENSION}"
    return f"/run/{PID_FILE}{RELOAD_EXTENSION}"


def check_start_stop_scripts(completion: Completion) -> None:
    """Drop start-up/shutdown scripts that cannot or must not run; without script security, running any
    script file is a security violation."""
    defs = completion.config.global_defs
    flags = 0
    for kind in ("startup", "shutdown"):
        script = getattr(defs, f"{kind}_script")
        if script is None:
            continue
        checked = check_script_secure(completion, script)
        if checked & (SC_INHIBIT | SC_NOTFOUND) or not checked & (SC_EXECUTABLE | SC_SYSTEM):
            setattr(defs, f"{kind}_script", None)
        flags |= checked
    if not completion.session.script_users.security and flags & SC_ISSCRIPT:
        insecure = " There are insecure scripts." if flags & SC_INSECURE else ""
        completion.report(
            Severity.SECURITY_ERROR,
            f"SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled."
            f"{insecure}",
        )
