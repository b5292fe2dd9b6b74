"""`syslog:` log targets as nginx reads them (ngx_syslog_process_conf, ngx_syslog_parse_args): comma
separated `server=` (required; an address with port 514 by default, or `unix:/path`), `facility=`,
`severity=`, `tag=` (at most 32 letters, digits and underscores) and `nohostname`, with nginx's messages."""

from __future__ import annotations

from .context import Directive
from .model.logging import SyslogTarget
from .system import System
from .urls import UrlError, UrlRules, parse_url

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news", "uucp", "clock", "authpriv", "ftp",
    "ntp", "audit", "alert", "cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
)  # fmt: skip
SEVERITIES = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")
_LOCAL7, _INFO = 23, 6
_TAG_LIMIT = 32


def syslog_target(directive: Directive, text: str, system: System) -> SyslogTarget:
    """The target of `text` (`syslog:...`, the directive's first argument)."""
    server = facility = severity = tag = None
    hostname = True
    for parameter in text[len("syslog:") :].split(","):
        if parameter.startswith("server="):
            if server is not None:
                raise directive.error('duplicate syslog "server"')
            url = parameter[7:]
            try:
                server = parse_url(url, UrlRules(default_port=514), system).addresses[0]
            except UrlError as exc:
                raise directive.error(f'{exc} in syslog server "{url}"') from exc
        elif parameter.startswith("facility="):
            if facility is not None:
                raise directive.error('duplicate syslog "facility"')
            facility = _named(directive, FACILITIES, parameter[9:], "facility")
        elif parameter.startswith("severity="):
            if severity is not None:
                raise directive.error('duplicate syslog "severity"')
            severity = _named(directive, SEVERITIES, parameter[9:], "severity")
        elif parameter.startswith("tag="):
            if tag is not None:
                raise directive.error('duplicate syslog "tag"')
            tag = _tag(directive, parameter[4:])
        elif parameter == "nohostname":
            hostname = False
        else:
            raise directive.error(f'unknown syslog parameter "{parameter}"')
    if server is None:
        raise directive.error("no syslog server specified")
    return SyslogTarget(
        server,
        _LOCAL7 if facility is None else facility,
        _INFO if severity is None else severity,
        "nginx" if tag is None else tag,
        hostname,
    )


def _named(directive: Directive, names: tuple[str, ...], value: str, what: str) -> int:
    if value not in names:
        raise directive.error(f'unknown syslog {what} "{value}"')
    return names.index(value)


def _tag(directive: Directive, value: str) -> str:
    if len(value) > _TAG_LIMIT:
        raise directive.error("syslog tag length exceeds 32")
    for char in value.lower():
        if char < "0" or ("9" < char < "a" and char != "_") or char > "z":
            raise directive.error('syslog "tag" only allows alphanumeric characters and underscore')
    return value
