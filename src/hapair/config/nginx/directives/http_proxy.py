"""The proxy module: `proxy_pass`, `proxy_set_header`, timeouts, `proxy_next_upstream`,
`proxy_http_version`, `proxy_ssl_*`, and what it does with responses: `proxy_redirect`,
`proxy_cookie_domain`, `proxy_cookie_path`, `proxy_cookie_flags`, `proxy_hide_header`,
`proxy_pass_header`, `proxy_ignore_headers`, `proxy_intercept_errors`, the buffers and temporary files
of `proxy_buffering` (ngx_http_proxy_module.c)."""

from __future__ import annotations

from typing import TypeVar

from ..context import Block, Directive, Handler, Reading
from ..fields import (
    PROXY_BUFFER_SIZE,
    PROXY_BUFFERING,
    PROXY_BUFFERS,
    PROXY_BUSY_BUFFERS_SIZE,
    PROXY_CONNECT_TIMEOUT,
    PROXY_COOKIE_DOMAIN,
    PROXY_COOKIE_FLAGS,
    PROXY_COOKIE_PATH,
    PROXY_HIDE_HEADER,
    PROXY_HTTP_VERSION,
    PROXY_IGNORE_HEADERS,
    PROXY_INTERCEPT_ERRORS,
    PROXY_MAX_TEMP_FILE_SIZE,
    PROXY_METHOD,
    PROXY_NEXT_UPSTREAM,
    PROXY_NEXT_UPSTREAM_TIMEOUT,
    PROXY_NEXT_UPSTREAM_TRIES,
    PROXY_PASS_HEADER,
    PROXY_PASS_REQUEST_BODY,
    PROXY_PASS_REQUEST_HEADERS,
    PROXY_READ_TIMEOUT,
    PROXY_REDIRECT,
    PROXY_REQUEST_BUFFERING,
    PROXY_SEND_TIMEOUT,
    PROXY_SET_HEADER,
    PROXY_SSL_CERTIFICATE,
    PROXY_SSL_CERTIFICATE_KEY,
    PROXY_SSL_CIPHERS,
    PROXY_SSL_NAME,
    PROXY_SSL_PROTOCOLS,
    PROXY_SSL_SERVER_NAME,
    PROXY_SSL_SESSION_REUSE,
    PROXY_SSL_TRUSTED_CERTIFICATE,
    PROXY_SSL_VERIFY,
    PROXY_SSL_VERIFY_DEPTH,
    PROXY_TEMP_FILE_WRITE_SIZE,
    PROXY_TEMP_PATH,
    HeaderSetting,
    RedirectSetting,
)
from ..finish.proxy import default_redirect
from ..model.http import LocationMatch
from ..model.proxy import CookieFlags, Redirect
from ..model.templates import Template
from ..settings import Level, Placed, Slot
from ..state import ProxyPassState
from ..urls import UrlError, UrlRules, parse_url
from ..variables import compile_template, has_variables
from . import setters
from .regex import compile_regex
from .upstream import upstream_add

NEXT_UPSTREAM_CONDITIONS = (
    "error",
    "timeout",
    "invalid_header",
    "non_idempotent",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_403",
    "http_404",
    "http_429",
    "updating",
    "off",
)
T = TypeVar("T")
IGNORE_HEADERS = (
    "X-Accel-Redirect",
    "X-Accel-Expires",
    "X-Accel-Limit-Rate",
    "X-Accel-Buffering",
    "X-Accel-Charset",
    "Expires",
    "Cache-Control",
    "Set-Cookie",
    "Vary",
)
TLS_PROTOCOL_NAMES = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_SCHEMES = (("http://", "http", 80), ("https://", "https", 443))
_NO_URI_HERE = (
    LocationMatch.REGEX,
    LocationMatch.REGEX_CASELESS,
    LocationMatch.NAMED,
    LocationMatch.IF,
    LocationMatch.LIMIT_EXCEPT,
)


def proxy_pass(block: Block, directive: Directive, reading: Reading) -> None:
    location, http_state = block.location, block.http
    assert location is not None and http_state is not None
    if location.proxy_pass is not None:
        raise directive.invalid("is duplicate")
    url = directive.args[0]
    if has_variables(url):
        template = compile_template(url, http_state.variables, directive.place, directive.place)
        location.proxy_pass = Placed(ProxyPassState(url, "", None, None, template), directive.place)
        return
    prefix, scheme, port = _scheme(directive, url)
    rest = url[len(prefix) :]
    try:
        parsed = parse_url(
            rest, UrlRules(uri_part=True, no_resolve=True, default_port=port), block.main.system
        )
    except UrlError as exc:
        raise directive.error(f'{exc} in upstream "{rest}"') from exc
    group = upstream_add(http_state.upstreams, parsed, directive.place, explicit=False)
    uri = parsed.uri if parsed.has_uri else None
    if uri and location.match in _NO_URI_HERE:
        raise directive.error(
            '"proxy_pass" cannot have URI part in location given by regular expression, '
            'or inside named location, or inside "if" statement, or inside "limit_except" block'
        )
    location.proxy_pass = Placed(ProxyPassState(url, scheme, group, uri), directive.place)


def _scheme(directive: Directive, url: str) -> tuple[str, str, int]:
    for prefix, scheme, port in _SCHEMES:
        if url[: len(prefix)].lower() == prefix:
            return prefix, scheme, port
    raise directive.error("invalid URL prefix")


def proxy_set_header(block: Block, directive: Directive, reading: Reading) -> None:
    """Added to the level's list; compiled when the http block ends, as nginx does."""
    level = block.level()
    here = level.here(PROXY_SET_HEADER)
    headers = here.value if here is not None else ()
    name, value = directive.args
    header = HeaderSetting(name, value, directive.place)
    level.set(PROXY_SET_HEADER, (*headers, header), here.place if here is not None else directive.place)


def proxy_redirect(block: Block, directive: Directive, reading: Reading) -> None:
    """`proxy_redirect off | default | [~|~*]pattern replacement` (ngx_http_proxy_redirect): rules add up
    within a level; `off` cannot come with them."""
    level = block.level()
    here = level.here(PROXY_REDIRECT)
    if here is not None and here.value.off:
        raise directive.invalid("is duplicate")
    args = directive.args
    if len(args) == 1:
        if args[0] == "off":
            if here is not None:
                raise directive.invalid("is duplicate")
            level.set(PROXY_REDIRECT, RedirectSetting(True, ()), directive.place)
            return
        if args[0] != "default":
            raise directive.error(f'invalid parameter "{args[0]}"')
        rule = _default_redirect(block, directive)
    else:
        rule = _redirect_rule(block, directive)
    rules = here.value.rules if here is not None else ()
    level.set(
        PROXY_REDIRECT,
        RedirectSetting(False, (*rules, rule)),
        here.place if here is not None else directive.place,
    )


def _default_redirect(block: Block, directive: Directive) -> Redirect:
    location = block.location
    if location is None or location.proxy_pass is None:
        raise directive.error('"proxy_redirect default" should be placed after the "proxy_pass" directive')
    return default_redirect(location.proxy_pass.value, location.name, location.match)


def _redirect_rule(block: Block, directive: Directive) -> Redirect:
    http_state = block.http
    assert http_state is not None
    pattern, replacement = directive.args
    variables = http_state.variables
    prefix, regex = None, None
    if pattern.startswith("~"):
        caseless = pattern.startswith("~*")
        regex = compile_regex(pattern[2 if caseless else 1 :], caseless=caseless, place=directive.place)
        for group in regex.groupindex:
            variables.define(group)
    else:
        prefix = compile_template(pattern, variables, directive.place, directive.place)
    return Redirect(prefix, regex, compile_template(replacement, variables, directive.place, directive.place))


def _rules_or_off(
    directive: Directive, level: Level, slot: Slot[tuple[T, ...] | None]
) -> tuple[T, ...] | None:
    """The rules a `proxy_cookie_*` adds to; None once it said `off` (nginx's checks of both)."""
    here = level.here(slot)
    if here is not None and here.value is None:
        raise directive.invalid("is duplicate")
    if len(directive.args) == 1:
        if directive.args[0] != "off":
            raise directive.error(f'invalid parameter "{directive.args[0]}"')
        if here is not None:
            raise directive.invalid("is duplicate")
        level.set(slot, None, directive.place)
        return None
    return here.value if here is not None and here.value is not None else ()


def cookie_rewrite(slot: Slot[tuple[Redirect, ...] | None], *, domain: bool) -> Handler:
    """`proxy_cookie_domain` and `proxy_cookie_path`: `off`, or a rule (`~` a regular expression, for a
    domain always without regard to case, for a path `~*` for that); a domain's leading dots go."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        rules = _rules_or_off(directive, level, slot)
        if rules is None:
            return
        assert block.http is not None
        variables = block.http.variables
        pattern, replacement = directive.args
        prefix, regex = None, None
        if pattern.startswith("~"):
            caseless = domain or pattern.startswith("~*")
            source = pattern[1:] if domain or not caseless else pattern[2:]
            regex = compile_regex(source, caseless=caseless, place=directive.place)
            for group in regex.groupindex:
                variables.define(group)
        else:
            if domain:
                pattern = pattern.removeprefix(".")
                replacement = replacement.removeprefix(".")
            prefix = compile_template(pattern, variables, directive.place, directive.place)
        replaced = compile_template(replacement, variables, directive.place, directive.place)
        level.set(slot, (*rules, Redirect(prefix, regex, replaced)), directive.place)

    return handle


def proxy_cookie_flags(block: Block, directive: Directive, reading: Reading) -> None:
    """`proxy_cookie_flags off | cookie flag...`: `~` a regular expression, without regard to case."""
    level = block.level()
    rules = _rules_or_off(directive, level, PROXY_COOKIE_FLAGS)
    if rules is None:
        return
    assert block.http is not None
    variables = block.http.variables
    name, *flags = directive.args
    cookie, regex = None, None
    if name.startswith("~"):
        regex = compile_regex(name[1:], caseless=True, place=directive.place)
        for group in regex.groupindex:
            variables.define(group)
    else:
        cookie = compile_template(name, variables, directive.place, directive.place)
    compiled = tuple(compile_template(flag, variables, directive.place, directive.place) for flag in flags)
    level.set(PROXY_COOKIE_FLAGS, (*rules, CookieFlags(cookie, regex, compiled)), directive.place)


def certificate_path(slot: Slot[str]) -> Handler:
    """`proxy_ssl_certificate` and its key: a file; variables in it are not supported."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        if has_variables(directive.args[0]):
            raise directive.unsupported("variables")
        level.set(slot, directive.args[0], directive.place)

    return handle


def complex_value(slot: Slot[Template]) -> Handler:
    """A value with variables (ngx_http_set_complex_value_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        assert block.http is not None
        template = compile_template(directive.args[0], block.http.variables, directive.place, directive.place)
        level.set(slot, template, directive.place)

    return handle


def cache_predicate(block: Block, directive: Directive, reading: Reading) -> None:
    """`proxy_cache_bypass` and `proxy_no_cache` (ngx_http_set_predicate_slot): their values are read and
    checked, and change nothing, as in nginx without `proxy_cache`, which hapair refuses."""
    assert block.http is not None
    for arg in directive.args:
        compile_template(arg, block.http.variables, directive.place, directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_proxy_module", "proxy_pass"): proxy_pass,
    ("ngx_http_proxy_module", "proxy_cache_bypass"): cache_predicate,
    ("ngx_http_proxy_module", "proxy_no_cache"): cache_predicate,
    ("ngx_http_proxy_module", "proxy_set_header"): proxy_set_header,
    ("ngx_http_proxy_module", "proxy_connect_timeout"): setters.msec(PROXY_CONNECT_TIMEOUT),
    ("ngx_http_proxy_module", "proxy_read_timeout"): setters.msec(PROXY_READ_TIMEOUT),
    ("ngx_http_proxy_module", "proxy_send_timeout"): setters.msec(PROXY_SEND_TIMEOUT),
    ("ngx_http_proxy_module", "proxy_next_upstream"): setters.bitmask(
        PROXY_NEXT_UPSTREAM, NEXT_UPSTREAM_CONDITIONS
    ),
    ("ngx_http_proxy_module", "proxy_next_upstream_tries"): setters.number(PROXY_NEXT_UPSTREAM_TRIES),
    ("ngx_http_proxy_module", "proxy_next_upstream_timeout"): setters.msec(PROXY_NEXT_UPSTREAM_TIMEOUT),
    ("ngx_http_proxy_module", "proxy_http_version"): setters.choice(PROXY_HTTP_VERSION, ("1.0", "1.1")),
    ("ngx_http_proxy_module", "proxy_request_buffering"): setters.flag(PROXY_REQUEST_BUFFERING),
    ("ngx_http_proxy_module", "proxy_buffering"): setters.flag(PROXY_BUFFERING),
    ("ngx_http_proxy_module", "proxy_redirect"): proxy_redirect,
    ("ngx_http_proxy_module", "proxy_cookie_domain"): cookie_rewrite(PROXY_COOKIE_DOMAIN, domain=True),
    ("ngx_http_proxy_module", "proxy_cookie_path"): cookie_rewrite(PROXY_COOKIE_PATH, domain=False),
    ("ngx_http_proxy_module", "proxy_cookie_flags"): proxy_cookie_flags,
    ("ngx_http_proxy_module", "proxy_hide_header"): setters.strings(PROXY_HIDE_HEADER),
    ("ngx_http_proxy_module", "proxy_pass_header"): setters.strings(PROXY_PASS_HEADER),
    ("ngx_http_proxy_module", "proxy_ignore_headers"): setters.bitmask(PROXY_IGNORE_HEADERS, IGNORE_HEADERS),
    ("ngx_http_proxy_module", "proxy_intercept_errors"): setters.flag(PROXY_INTERCEPT_ERRORS),
    ("ngx_http_proxy_module", "proxy_buffer_size"): setters.size(PROXY_BUFFER_SIZE),
    ("ngx_http_proxy_module", "proxy_buffers"): setters.bufs(PROXY_BUFFERS),
    ("ngx_http_proxy_module", "proxy_busy_buffers_size"): setters.size(PROXY_BUSY_BUFFERS_SIZE),
    ("ngx_http_proxy_module", "proxy_temp_file_write_size"): setters.size(PROXY_TEMP_FILE_WRITE_SIZE),
    ("ngx_http_proxy_module", "proxy_max_temp_file_size"): setters.size(PROXY_MAX_TEMP_FILE_SIZE),
    ("ngx_http_proxy_module", "proxy_temp_path"): setters.path(PROXY_TEMP_PATH),
    ("ngx_http_proxy_module", "proxy_ssl_certificate"): certificate_path(PROXY_SSL_CERTIFICATE),
    ("ngx_http_proxy_module", "proxy_ssl_certificate_key"): certificate_path(PROXY_SSL_CERTIFICATE_KEY),
    ("ngx_http_proxy_module", "proxy_ssl_protocols"): setters.bitmask(
        PROXY_SSL_PROTOCOLS, TLS_PROTOCOL_NAMES
    ),
    ("ngx_http_proxy_module", "proxy_ssl_ciphers"): setters.string(PROXY_SSL_CIPHERS),
    ("ngx_http_proxy_module", "proxy_ssl_verify"): setters.flag(PROXY_SSL_VERIFY),
    ("ngx_http_proxy_module", "proxy_ssl_trusted_certificate"): setters.string(PROXY_SSL_TRUSTED_CERTIFICATE),
    ("ngx_http_proxy_module", "proxy_ssl_verify_depth"): setters.number(PROXY_SSL_VERIFY_DEPTH),
    ("ngx_http_proxy_module", "proxy_ssl_session_reuse"): setters.flag(PROXY_SSL_SESSION_REUSE),
    ("ngx_http_proxy_module", "proxy_ssl_server_name"): setters.flag(PROXY_SSL_SERVER_NAME),
    ("ngx_http_proxy_module", "proxy_ssl_name"): complex_value(PROXY_SSL_NAME),
    ("ngx_http_proxy_module", "proxy_method"): complex_value(PROXY_METHOD),
    ("ngx_http_proxy_module", "proxy_pass_request_headers"): setters.flag(PROXY_PASS_REQUEST_HEADERS),
    ("ngx_http_proxy_module", "proxy_pass_request_body"): setters.flag(PROXY_PASS_REQUEST_BODY),
}
