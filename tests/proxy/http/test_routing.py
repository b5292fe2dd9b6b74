"""Server and location choice as nginx makes it, on configurations read by the model."""

from __future__ import annotations

from pathlib import Path

from hapair.proxy.http.routing import LocationTree, ServerNames

from .harness import read_config


def locations(tmp_path: Path, body: str) -> LocationTree[str]:
    config = read_config(tmp_path, f"server {{ listen 127.0.0.1:8080; {body} }}")
    server = config.servers[0]
    return LocationTree(server.locations, lambda location: f"{location.match.value}{location.path}")


def found(tree: LocationTree[str], uri: str) -> str | None:
    result = tree.find(uri)
    return None if result is None else result.value


def test_locations_exact_then_longest_prefix_then_regex(tmp_path: Path) -> None:
    tree = locations(
        tmp_path,
        """
        location = / { }
        location / { }
        location /documents/ { }
        location ^~ /images/ { }
        location ~* \\.(gif|jpg|jpeg)$ { }
        """,
    )
    # nginx's documentation example (ngx_http_core_module, "location")
    assert found(tree, "/") == "=/"
    assert found(tree, "/index.html") == "/"
    assert found(tree, "/documents/document.html") == "/documents/"
    assert found(tree, "/images/1.gif") == "^~/images/"
    assert found(tree, "/documents/1.jpg") == "~*\\.(gif|jpg|jpeg)$"


def test_regex_in_order_and_nested_locations(tmp_path: Path) -> None:
    tree = locations(
        tmp_path,
        """
        location /api/ {
            location /api/v1/ { }
            location ~ ^/api/.*\\.json$ { }
        }
        location ~ /api/(\\w+)$ { }
        location ~ /api/ { }
        """,
    )
    # a regular expression beats the longest prefix, nested or not: /api/v1/pods matches `~ /api/`
    assert found(tree, "/api/v1/pods") == "~/api/"
    assert found(tree, "/api/x.json") == "~^/api/.*\\.json$"
    assert found(tree, "/api/v2") == "~/api/(\\w+)$"
    nested = locations(tmp_path, "location /api/ { location /api/v1/ { } } location ~ ^/other { }")
    assert found(nested, "/api/v1/pods") == "/api/v1/" and found(nested, "/api/v2") == "/api/"
    result = tree.find("/api/v2")
    assert result is not None and result.match is not None and result.match.group(1) == "v2"
    assert found(tree, "/other") is None


def test_server_names_exact_wildcards_regex_default(tmp_path: Path) -> None:
    config = read_config(
        tmp_path,
        """
        server { listen 127.0.0.1:8080; server_name default.example; }
        server { listen 127.0.0.1:8080; server_name www.example.com; }
        server { listen 127.0.0.1:8080; server_name *.example.com; }
        server { listen 127.0.0.1:8080; server_name *.api.example.com; }
        server { listen 127.0.0.1:8080; server_name mail.*; }
        server { listen 127.0.0.1:8080; server_name .example.org; }
        server { listen 127.0.0.1:8080; server_name ~^node\\d+\\.lan$; }
        """,
    )
    listener = config.listeners[0]
    names = ServerNames(listener.servers, listener.default_server)

    def pick(host: str) -> str:
        return names.find(host).names[0]

    assert pick("www.example.com") == "www.example.com"
    assert pick("a.example.com") == "*.example.com"
    assert pick("x.api.example.com") == "*.api.example.com"
    assert pick("mail.example.net") == "mail.*"
    assert pick("example.org") == ".example.org" and pick("a.example.org") == ".example.org"
    assert pick("node12.lan") == "~^node\\d+\\.lan$"
    assert pick("unknown") == "default.example" and pick("") == "default.example"


def test_only_location_slash_matches_every_uri_but_nested_locations_are_searched(tmp_path: Path) -> None:
    single = locations(tmp_path, "location / { }")
    assert found(single, "/") == "/" and found(single, "/a/b?c") == "/"
    nested = locations(tmp_path, "location / { location /api/ { } }")
    assert found(nested, "/api/x") == "/api/"
    assert found(nested, "/other") == "/"


def test_server_with_only_a_named_location_matches_no_uri(tmp_path: Path) -> None:
    assert found(locations(tmp_path, "location @fallback { }"), "/") is None
