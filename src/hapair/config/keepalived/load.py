"""Read a keepalived configuration as keepalived 2.2.7 does, into the typed model, with every message.

keepalived reads the files twice: its parent process with only `global_defs` and the other process-wide
keywords active, writing a comment-stripped copy; then its VRRP, checker and BFD processes read that copy
with their own keywords active. hapair does the same two readings (so `\\#` escapes, comments produced by
parameters and the like behave as in keepalived), then runs keepalived's completion checks. A message
keepalived prints once per process is reported once.
"""

from __future__ import annotations

import os

from . import complete as completion_checks
from .diagnostics import Diagnostic, MissingParameterError, Severity
from .engine import Parser
from .host import Host
from .keywords import CHILD_GROUPS, GLOBAL, all_roots, deferred_roots
from .model import KeepalivedConfig
from .reader import CopySource, FileSource, Reader
from .reader import Report as ReportAt
from .result import LoadResult
from .session import Session


def short_hostname(host: Host) -> str:
    return host.hostname().split(".", 1)[0]


def load(
    path: str,
    host: Host,
    *,
    config_id: str | None = None,
    config_test: bool = True,
    cwd: str | None = None,
) -> LoadResult:
    """Read `path` (a file name or glob) and everything it includes; `config_id` defaults to the short host
    name, as keepalived's `-i`."""
    config = KeepalivedConfig()
    result = LoadResult(config)
    cwd = cwd or os.getcwd()
    session = Session(config, host, config_test, config_id if config_id is not None else short_hostname(host))
    session.script_users.our_uid, session.script_users.our_gid = host.process_ids()

    def report(
        severity: Severity, message: str, file: str | None, line: int | None, log: bool = False
    ) -> None:
        result.report.add(Diagnostic(severity, message, file, line, log))

    source = FileSource(path, cwd, report)
    if not source.opened:
        result.stopped = True
        return result
    if len(source.matches) > 1:
        message = f"WARNING, multiple configuration file matches of {path}, starting with {source.matches[0]}"
        report(Severity.MULTIPLE_FILES, message, None, None, False)
    if not _read(Reader(source, session.config_id, report, copy=source.copy), {GLOBAL}, session, result):
        return result
    if source.fatal_error:
        # keepalived's parent stops here when an include it was told to require is missing or unreadable
        result.stopped = True
        return result
    if not _enter_network_namespace(session, report):
        result.stopped = True
        return result
    copy = CopySource(source.copy, path, cwd)
    if not _read(Reader(copy, session.config_id, report, copy=None), CHILD_GROUPS, session, result):
        return result
    completion_checks.complete(completion_checks.Completion(session, report))
    return result


def _enter_network_namespace(session: Session, report: ReportAt) -> bool:
    """keepalived's processes run in the `net_namespace` the parent's reading named; so do the checks."""
    name = session.config.global_defs.network_namespace
    if not name:
        return True
    inside = session.host.network_namespace(name)
    if inside is None:
        report(Severity.FATAL, f"Unable to set network namespace {name} - exiting", None, None, False)
        return False
    session.host = inside
    return True


def _read(reader: Reader, active: set[str], session: Session, result: LoadResult) -> bool:
    parser = Parser(reader, all_roots(), active, session, deferred_roots())
    try:
        parser.run()
    except MissingParameterError as err:
        reader.report(Severity.MISSING_PARAMETER, str(err))
        result.missing_parameter = True
        return False
    depth = reader.state.block_depth
    if depth > 0:
        result.report.add(Diagnostic(Severity.MISSING_EOB, f"There are {depth} missing '}}'s or extra '{{'s"))
    return True
