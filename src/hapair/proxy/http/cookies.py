"""The proxy's rewrites of an upstream's Set-Cookie headers (ngx_http_proxy_rewrite_cookie):
`proxy_cookie_domain` and `proxy_cookie_path` rewrite the value of the Domain and Path attributes (the
first rule that matches), `proxy_cookie_flags` adds, changes or removes Secure, HttpOnly and SameSite of
the cookies it names. A header none of them changes is passed as it came; one they change is written
again as nginx writes it: `name=value; Attr=value; Flag`, attributes separated by `; `."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .variables import CompiledTemplate

if TYPE_CHECKING:
    import re

    from hapair.config.nginx.model.proxy import CookieFlags, Redirect

    from .exchange import Exchange

# a flag, the ones of its kind it overrides (nginx's bits and their order of precedence)
_FLAGS = {
    "secure": "secure",
    "nosecure": "nosecure",
    "httponly": "httponly",
    "nohttponly": "nohttponly",
    "samesite=strict": "strict",
    "samesite=lax": "lax",
    "samesite=none": "none",
    "nosamesite": "nosamesite",
}
_SAMESITE = (("strict", "Strict"), ("lax", "Lax"), ("none", "None"))

Attribute = list[str | None]  # [name, value]: a name None is removed; a value None has no `=`


class _Rewrite:
    """A `proxy_cookie_domain` or `proxy_cookie_path` rule made ready."""

    __slots__ = ("_domain", "_pattern", "_regex", "_replacement")

    def __init__(self, rule: Redirect, *, domain: bool) -> None:
        self._domain = domain
        self._pattern = CompiledTemplate(rule.prefix) if rule.prefix is not None else None
        self._regex = rule.regex
        self._replacement = CompiledTemplate(rule.replacement)

    def apply(self, ex: Exchange, value: str) -> str | None:
        if self._pattern is None:
            assert self._regex is not None
            return self._by_regex(ex, self._regex, value)
        pattern = self._pattern.evaluate(ex)
        if self._domain:
            # ngx_http_proxy_rewrite_domain_handler: the whole domain, without its leading dot, in any case
            start = 1 if value.startswith(".") else 0
            if value[start:].lower() != pattern.lower():
                return None
            return value[:start] + self._replacement.evaluate(ex)
        if not value.startswith(pattern):
            return None
        return self._replacement.evaluate(ex) + value[len(pattern) :]

    def _by_regex(self, ex: Exchange, regex: re.Pattern[str], value: str) -> str | None:
        match = regex.search(value)
        if match is None:
            return None
        ex.match = match
        if match.re.groupindex:
            ex.capture_names(match)
        return self._replacement.evaluate(ex)


class _Flags:
    __slots__ = ("_cookie", "_flags", "_regex")

    def __init__(self, rule: CookieFlags) -> None:
        self._cookie = CompiledTemplate(rule.cookie) if rule.cookie is not None else None
        self._regex = rule.regex
        self._flags = tuple(CompiledTemplate(flag) for flag in rule.flags)

    def matches(self, ex: Exchange, name: str) -> bool:
        if self._cookie is None:
            assert self._regex is not None
            match = self._regex.search(name)
            if match is None:
                return False
            ex.match = match
            if match.re.groupindex:
                ex.capture_names(match)
            return True
        return self._cookie.evaluate(ex).lower() == name.lower()

    def flags(self, ex: Exchange) -> set[str]:
        """The flags asked for (ones nginx does not know are left out, as nginx does)."""
        found = set()
        for flag in self._flags:
            known = _FLAGS.get(flag.evaluate(ex).lower())
            if known is not None:
                found.add(known)
        return found


class CookieRules:
    """A location's `proxy_cookie_*`."""

    __slots__ = ("_flags", "_rules")

    def __init__(
        self,
        domains: tuple[Redirect, ...],
        paths: tuple[Redirect, ...],
        flags: tuple[CookieFlags, ...],
    ) -> None:
        self._rules = {
            "domain": tuple(_Rewrite(rule, domain=True) for rule in domains),
            "path": tuple(_Rewrite(rule, domain=False) for rule in paths),
        }
        self._flags = tuple(_Flags(rule) for rule in flags)

    def rewrite(self, ex: Exchange, header: bytes) -> bytes:
        """A Set-Cookie value as the client gets it."""
        attributes = _parse(header.decode("latin-1"))
        if attributes[0][1] is None:
            return header  # not a cookie: no `=` in its first part
        changed = False
        for attribute in attributes[1:]:
            name, value = attribute
            if value is None or name is None:
                continue
            rules = self._rules.get(name.lower(), ())
            for rule in rules:
                rewritten = rule.apply(ex, value)
                if rewritten is not None:
                    attribute[1] = rewritten
                    changed = True
                    break
        if self._flags:
            changed = self._edit_flags(ex, attributes) or changed
        if not changed:
            return header
        return "; ".join(_written(attribute) for attribute in attributes if attribute[0] is not None).encode(
            "latin-1", "replace"
        )

    def _edit_flags(self, ex: Exchange, attributes: list[Attribute]) -> bool:
        """ngx_http_proxy_rewrite_cookie_flags: the first rule whose cookie name matches."""
        name = attributes[0][0] or ""
        rule = next((rule for rule in self._flags if rule.matches(ex, name)), None)
        if rule is None:
            return False
        flags = rule.flags(ex)
        if not flags:
            return False
        _edit(attributes, flags)
        return True


def _edit(attributes: list[Attribute], flags: set[str]) -> None:
    """ngx_http_proxy_edit_cookie_flags: existing flags changed or removed, missing ones added."""
    for attribute in attributes[1:]:
        key = (attribute[0] or "").lower()
        if key in ("secure", "httponly"):
            if key in flags:
                flags.discard(key)
            elif "no" + key in flags:
                attribute[0] = None
        elif key == "samesite":
            asked = next(((flag, text) for flag, text in _SAMESITE if flag in flags), None)
            if asked is not None:
                flags.discard(asked[0])
                if (attribute[1] or "").lower() != asked[0]:
                    attribute[0], attribute[1] = "SameSite", asked[1]
            elif "nosamesite" in flags:
                attribute[0] = None
    if "secure" in flags:
        attributes.append(["Secure", None])
    if "httponly" in flags:
        attributes.append(["HttpOnly", None])
    for flag, text in _SAMESITE:
        if flag in flags:
            attributes.append(["SameSite", text])
            break


def _parse(value: str) -> list[Attribute]:
    """ngx_http_proxy_parse_cookie: `;`-separated parts, each a name and, after `=`, a value (spaces
    around both dropped)."""
    attributes: list[Attribute] = []
    for part in value.split(";"):
        name, equals, rest = part.partition("=")
        attributes.append([name.strip(" "), rest.strip(" ") if equals else None])
    return attributes


def _written(attribute: Attribute) -> str:
    name, value = attribute
    return f"{name}={value}" if value is not None else name or ""
