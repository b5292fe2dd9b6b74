"""The command line of `hapair proxy` run in the test's process (its stdout and stderr captured), and the
real nginx's, for tests that compare the two."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hapair.cli.main import main

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# an error log line's head: time, level, pid#tid
LOG_HEAD = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: ", re.MULTILINE)


@dataclass(frozen=True)
class Ran:
    status: int
    stdout: str
    stderr: str

    def lines(self) -> list[str]:
        """stderr's lines, an error log line's time and pid left out (`[emerg] text`)."""
        return LOG_HEAD.sub(r"[\1] ", self.stderr).splitlines()


def hapair(*args: str) -> Ran:
    """`hapair proxy ARGS` in this process (which must not start a server)."""
    out, err = io.TextIOWrapper(io.BytesIO()), io.TextIOWrapper(io.BytesIO())
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["proxy", *args])
        out.flush()
        err.flush()
    return Ran(status, _text(out), _text(err))


def nginx(*args: str) -> Ran:
    done = subprocess.run([NGINX, *args], capture_output=True, check=False)
    decode = lambda data: data.decode("utf-8", "surrogateescape")  # noqa: E731
    return Ran(done.returncode, decode(done.stdout), decode(done.stderr))


def log_lines(path: Path) -> list[str]:
    """An error log's lines, time and pid left out."""
    return LOG_HEAD.sub(r"[\1] ", path.read_text()).splitlines() if path.exists() else []


def _text(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", "surrogateescape")
