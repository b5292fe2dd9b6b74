"""Whatever text is given, reading ends in a model or in a clean error placed at a line: never an
unhandled exception. Texts are arbitrary, arbitrary bytes, soups of nginx tokens, and the seed's files
mutated line by line."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hapair.config.nginx.load import LoadResult, load

from .conftest import LabSystem
from .seed_configs import SEED_HTTP, SEED_STREAM

WORDS = [
    "events", "http", "stream", "server", "location", "upstream", "listen", "server_name", "proxy_pass",
    "proxy_set_header", "proxy_read_timeout", "proxy_next_upstream", "proxy_http_version", "proxy_ssl_verify",
    "ssl_certificate", "ssl_session_cache", "log_format", "access_log", "error_log", "include", "keepalive",
    "least_conn", "worker_processes", "worker_connections", "client_max_body_size", "gzip", "8080", "80",
    "127.0.0.1:9", "[::1]:8080", "ssl", "backup", "weight=2", "off", "on", "auto", "1.1", "90", "10m", "~*",
    "=", "/api/", "http://b", "https://k8s-api", "b", "$host", "${remote_addr}", "$1", "$", "logs/a.log",
    "combined", "shared:SSL:10m", "builtin:1000", "*.example.org", "unix:/tmp/x.sock", "*.conf",
]  # fmt: skip
PUNCTUATION = [";", "{", "}", " ", "\n", "\t", '"', "'", "\\", "#", "(", ")"]

token_soup = st.lists(st.sampled_from(WORDS) | st.sampled_from(PUNCTUATION), max_size=60).map(" ".join)


@st.composite
def mutated_seed(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from([SEED_HTTP, SEED_STREAM])).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "replace", "cut"]))
        if action == "drop":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "replace":
            lines[index] = draw(token_soup)
        else:
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        if not lines:
            break
    return "\n".join(lines)


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "logs").mkdir()
        yield Path(directory)


def read_bytes(data: bytes) -> LoadResult:
    with workspace() as directory:
        (directory / "nginx.conf").write_bytes(data)
        return load("nginx.conf", f"{directory}/", LabSystem(), test=True)


def assert_model_or_placed_error(result: LoadResult) -> None:
    if result.error is None:
        assert result.config is not None
        return
    assert result.config is None
    assert result.error.origin is not None and result.error.origin.line >= 1
    assert result.error.message.render().startswith("nginx: [")


EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXAMPLES
@given(st.text(max_size=400))
def test_any_text_gives_a_model_or_a_placed_error(text: str) -> None:
    assert_model_or_placed_error(read_bytes(text.encode("utf-8", "surrogatepass")))


@EXAMPLES
@given(st.binary(max_size=400))
def test_any_bytes_give_a_model_or_a_placed_error(data: bytes) -> None:
    assert_model_or_placed_error(read_bytes(data))


@EXAMPLES
@given(token_soup)
def test_soups_of_nginx_tokens_give_a_model_or_a_placed_error(text: str) -> None:
    assert_model_or_placed_error(read_bytes(text.encode()))


@EXAMPLES
@given(mutated_seed())
def test_mutated_seed_files_give_a_model_or_a_placed_error(text: str) -> None:
    assert_model_or_placed_error(read_bytes(text.encode()))
