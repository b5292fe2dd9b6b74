"""Request targets: nginx's `$uri` normalization and `proxy_pass` URI replacement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.proxy.http.uri import BadTargetError, normalize, parse_target, replace_prefix


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("/", "/"),
        ("/a//b", "/a/b"),
        ("/a/./b/", "/a/b/"),
        ("/a/b/..", "/a/"),
        ("/a/../b", "/b"),
        ("/%61%2Fb", "/a/b"),
        ("/.hidden", "/.hidden"),
    ],
)
def test_normalize_as_nginx(path: str, uri: str) -> None:
    assert normalize(path) == uri


@pytest.mark.parametrize("path", ["/..", "/a/../..", "/%2e%2e", "/a%00", "/a%zz", "/a%2", "/a%", "/%g0"])
def test_targets_nginx_refuses(path: str) -> None:
    with pytest.raises(BadTargetError):
        normalize(path)


def test_a_target_without_a_path_has_the_root_path() -> None:
    """`GET http://host?x=1`: the request line's parser gives the target from `?` on."""
    target = parse_target(b"?x=1")
    assert (target.path, target.query, target.uri) == ("/", "x=1", "/")


def test_proxy_pass_uri_replaces_the_location_prefix() -> None:
    assert (
        replace_prefix("/api/v1 pods", len("/api/"), "/backend/", "watch=1") == "/backend/v1%20pods?watch=1"
    )


def test_proxy_pass_uri_escapes_what_nginx_escapes() -> None:
    """NGX_ESCAPE_URI's characters, as nginx 1.22.1 sent `/p/a%22b%3Cc%3E%5C%5E%60%7B%7C%7D` upstream."""
    assert replace_prefix('/p/a"b<c>\\^`{|}', len("/p/"), "/q/", None) == "/q/a%22b%3Cc%3E%5C%5E%60%7B%7C%7D"


@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "%2e", "%2F", "%41"]), max_size=8))
def test_normalized_uri_has_no_dot_segments_or_double_slashes(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    try:
        uri = normalize(path)
    except BadTargetError:
        return
    assert uri.startswith("/") and "//" not in uri
    assert all(segment not in (".", "..") for segment in uri.split("/"))


def test_long_and_repeated_targets_parse_alike() -> None:
    long_path = "/" + "a/" * 200 + "../b"
    target = parse_target(f"{long_path}?q=1".encode())
    assert (target.path, target.query, target.uri) == (long_path, "q=1", "/" + "a/" * 199 + "b")
    assert parse_target(b"/x/./y?z").uri == parse_target(b"/x/./y?z").uri == "/x/y"  # the cached one too
