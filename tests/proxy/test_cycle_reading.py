"""proxy/cycle.py's `Launch.load`: the master's reading of nginx.conf runs in a child process (forked.py);
it gives what the reader gives, and a child that fails is an [emerg] that stops the start or the reload as
a configuration error does."""

from __future__ import annotations

from pathlib import Path

from hapair.config.nginx import load as load_module
from hapair.config.nginx.errors import Severity
from hapair.proxy.cycle import Launch

CONFIG = (
    "error_log stderr;\nevents {}\nhttp { server { listen 127.0.0.1:8080; location / { return 204; } } }\n"
)


def test_a_reading_gives_what_the_reader_gives(tmp_path: Path) -> None:
    path = tmp_path / "nginx.conf"
    path.write_text(CONFIG)
    expected = load_module.load(str(path), f"{tmp_path}/")

    result = Launch(str(path), f"{tmp_path}/").load()

    assert result == expected


def test_an_error_of_the_configuration_comes_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "nginx.conf"
    path.write_text(CONFIG.replace("return 204", "retrun 204"))

    result = Launch(str(path), f"{tmp_path}/").load()

    assert result.config is None
    assert result.error is not None
    assert str(result.error) == f'nginx: [emerg] unknown directive "retrun" in {path}:3'
    assert result.error.origin is not None


def test_a_failed_child_is_an_emerg_with_its_traceback_before_it(tmp_path: Path, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the reader broke")

    monkeypatch.setattr(load_module, "load", broken)  # the child is forked with it patched

    result = Launch(str(tmp_path / "nginx.conf"), f"{tmp_path}/").load()

    assert result.config is None
    assert result.error is not None
    assert result.error.message.text == "reading the configuration failed: RuntimeError: the reader broke"
    *traceback, last = result.reading
    assert last == result.error.message
    assert traceback[0].text == "Traceback (most recent call last):"
    assert {message.severity for message in traceback} == {Severity.CRIT}
