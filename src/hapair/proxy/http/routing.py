"""Which server and which location handle a request, as nginx chooses them.

Servers (ngx_http_find_virtual_server): among the servers of the address the connection came to, by the
request's host: an exact name, then the longest wildcard starting with `*` (`.example.com` also matches
`example.com`), then the longest wildcard ending with `*`, then the first regular expression that matches,
in the order of the configuration; else the address's default server. The first server naming a name
keeps it (nginx ignores the later one with a warning).

Locations (ngx_http_core_find_location): an exact location (`=`) equal to the URI wins at once; else the
longest prefix location, whose nested locations are searched the same way; then, unless that prefix is
`^~`, the regular expressions of the level in order (the first match wins, its nested locations are
searched too). Named locations are never matched by a URI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Generic, TypeVar

from hapair.config.nginx.model.http import Location, LocationMatch, Server

T = TypeVar("T")


class ServerNames:
    """The servers of one listening address, found by host."""

    __slots__ = ("_cache", "_default", "_exact", "_head", "_regex", "_tail")

    def __init__(self, servers: tuple[Server, ...], default: Server) -> None:
        self._default = default
        self._exact: dict[str, Server] = {}
        head: dict[str, Server] = {}
        tail: dict[str, Server] = {}
        self._regex: list[tuple[re.Pattern[str], Server]] = []
        for server in servers:
            for name in server.names:
                if name.startswith("~"):
                    self._regex.append((re.compile(name[1:], re.IGNORECASE), server))
                elif name.startswith("*."):
                    head.setdefault(name[1:], server)
                elif name.startswith(".") and len(name) > 1:
                    self._exact.setdefault(name[1:], server)
                    head.setdefault(name, server)
                elif name.endswith(".*"):
                    tail.setdefault(name[:-1], server)
                else:
                    self._exact.setdefault(name, server)
        # longest first, so the first match is the longest
        self._head = sorted(head.items(), key=lambda item: -len(item[0]))
        self._tail = sorted(tail.items(), key=lambda item: -len(item[0]))
        self._cache: dict[str, Server] = {}

    def find(self, host: str) -> Server:
        """`host`: lower case, without port or trailing dot ("" when the request had none)."""
        found = self._exact.get(host)
        if found is not None:
            return found
        found = self._cache.get(host)
        if found is None:
            found = self._search(host)
            if len(self._cache) < 1024:
                self._cache[host] = found
        return found

    def _search(self, host: str) -> Server:
        for suffix, server in self._head:
            if host.endswith(suffix) and len(host) > len(suffix):
                return server
        for prefix, server in self._tail:
            if host.startswith(prefix) and len(host) > len(prefix):
                return server
        for pattern, server in self._regex:
            if pattern.search(host):
                return server
        return self._default


class Found(Generic[T]):
    """The location found, its value, and the match object of its regular expression if it has one;
    `redirect`: the URI is the location's name without its final `/`, and nginx answers with a 301 to
    that name (a location with `proxy_pass`, nginx's auto_redirect)."""

    __slots__ = ("location", "match", "redirect", "value")

    def __init__(
        self, value: T, location: Location, match: re.Match[str] | None, redirect: bool = False
    ) -> None:
        self.value = value
        self.location = location
        self.match = match
        self.redirect = redirect


class _Level(Generic[T]):
    """The locations of one level (a server, or inside a location)."""

    __slots__ = ("exact", "prefixes", "redirects", "regexes")

    def __init__(self, locations: tuple[Location, ...], make: Callable[[Location], T]) -> None:
        self.exact: dict[str, _Node[T]] = {}
        prefixes: list[_Node[T]] = []
        self.regexes: list[_Node[T]] = []
        self.redirects: dict[str, _Node[T]] = {}
        for location in locations:
            if location.match in _NEVER_SEARCHED:
                continue
            node = _Node(location, make)
            if location.match is LocationMatch.EXACT:
                self.exact.setdefault(location.path, node)
            elif location.match in (LocationMatch.PREFIX, LocationMatch.PREFIX_NO_REGEX):
                prefixes.append(node)
            elif location.match in (LocationMatch.REGEX, LocationMatch.REGEX_CASELESS):
                self.regexes.append(node)
            if location.auto_redirect and location.match not in _REGEXES:
                self.redirects.setdefault(location.path[:-1], node)
        self.prefixes = sorted(prefixes, key=lambda node: -len(node.location.path))

    def longest_prefix(self, uri: str) -> _Node[T] | None:
        for node in self.prefixes:
            if uri.startswith(node.location.path):
                return node
        return None


class _Node(Generic[T]):
    """A location; `found` is what finding it without a regular expression's match gives (made once)."""

    __slots__ = ("children", "found", "location", "value")

    def __init__(self, location: Location, make: Callable[[Location], T]) -> None:
        self.location = location
        self.value = make(location)
        self.children = _Level(location.locations, make)
        self.found = Found(self.value, location, None)


class _Search(Generic[T]):
    """ngx_http_core_find_location's `r->loc_conf`, changing as the search goes."""

    __slots__ = ("match", "node", "redirect")

    def __init__(self) -> None:
        self.node: _Node[T] | None = None
        self.match: re.Match[str] | None = None
        self.redirect = False


class LocationTree(Generic[T]):
    """The locations of a server; `make` turns each into the value `find` returns."""

    __slots__ = ("_root", "_single")

    def __init__(self, locations: tuple[Location, ...], make: Callable[[Location], T]) -> None:
        self._root = _Level(locations, make)
        root = self._root
        # the common configuration: one `location /` and nothing else
        only = (
            len(locations) == 1
            and len(root.prefixes) == 1
            and not root.exact
            and not root.regexes
            and not root.prefixes[0].location.locations
        )
        self._single = root.prefixes[0].found if only and root.prefixes[0].location.path == "/" else None

    def find(self, uri: str) -> Found[T] | None:
        if self._single is not None and uri.startswith("/"):
            return self._single
        search: _Search[T] = _Search()
        _find(self._root, uri, search)
        node = search.node
        if node is None:
            return None
        if search.redirect:
            return Found(node.value, node.location, None, redirect=True)
        if search.match is None:
            return node.found
        return Found(node.value, node.location, search.match)


_EXACT, _PREFIX, _DECLINED, _REDIRECT = 0, 1, 2, 3
_NEVER_SEARCHED: Final = (LocationMatch.NAMED, LocationMatch.IF, LocationMatch.LIMIT_EXCEPT)
_REGEXES: Final = (LocationMatch.REGEX, LocationMatch.REGEX_CASELESS)


def _find(level: _Level[T], uri: str, search: _Search[T]) -> int:
    exact = level.exact.get(uri)
    if exact is not None:
        search.node, search.match = exact, None
        return _EXACT
    redirect = level.redirects.get(uri) if level.redirects else None
    if redirect is not None:
        search.node, search.match, search.redirect = redirect, None, True
        return _REDIRECT
    found = _DECLINED
    noregex = False
    prefix = level.longest_prefix(uri)
    if prefix is not None:
        search.node, search.match = prefix, None
        noregex = prefix.location.match is LocationMatch.PREFIX_NO_REGEX
        found = _find(prefix.children, uri, search)
        if found in (_EXACT, _REDIRECT):
            return found
        found = _PREFIX
    if noregex:
        return found
    for node in level.regexes:
        pattern = node.location.pattern
        match = pattern.search(uri) if pattern is not None else None
        if match is not None:
            search.node, search.match = node, match
            _find(node.children, uri, search)
            return _EXACT
    return found
