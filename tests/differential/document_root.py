"""A document root for the static file cases, made once per test module under a directory every user may
enter (the workers of both servers run as nobody): files of several types and sizes, names that need
escaping, a directory with an index and one without, files and a directory the workers may not read,
symbolic links inside and out of the root, a link owned by root to a file owned by nobody (for
`disable_symlinks if_not_owner`), and a file outside the root that no request may reach.

Layout, under `base`:

    www/s/            the served tree (`root base/www` serves it as /s/)
    outside/secret    what `..`, encoded slashes and links must not lead to
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
OUTSIDE_SECRET = b"outside the root: must never be served\n"
BIG_SIZE = 3 * 1024 * 1024 + 17  # more than one sendfile_max_chunk of 2m and not a multiple of a page
MTIME = 1_700_000_000  # 2023-11-14: fixed, so the listings' dates are the same on every run


@dataclass(frozen=True)
class DocumentRoot:
    base: Path

    @property
    def www(self) -> Path:
        return self.base / "www"

    @property
    def served(self) -> Path:
        return self.www / "s"

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def make_document_root() -> DocumentRoot:
    base = Path(tempfile.mkdtemp(prefix="static-root-"))
    base.chmod(0o755)
    root = DocumentRoot(base)
    served = root.served
    served.mkdir(parents=True)
    for directory in (root.www, served):
        directory.chmod(0o755)
    outside = base / "outside"
    outside.mkdir()
    outside.chmod(0o755)
    _write(outside / "secret", OUTSIDE_SECRET)
    _write(served / "index.html", b"<html><body>the index</body></html>\n")
    _write(served / "style.css", b"body { color: black; }\n")
    _write(served / "app.js", b"console.log('app');\n")
    _write(served / "data.json", b'{"a": 1}\n')
    _write(served / "page.txt", b"0123456789abcdefghijklmnopqrstuvwxyz\n")
    _write(served / "image.png", bytes(range(256)) * 8)
    _write(served / "noext", b"no extension\n")
    _write(served / "UPPER.HTML", b"<p>upper case extension</p>\n")
    _write(served / "empty.txt", b"")
    _write(served / "big.bin", os.urandom(BIG_SIZE))
    _write(served / "name with space.txt", b"space\n")
    _write(served / 'quote"and<angle>&.txt', b"escaped\n")
    _write(served / "ünïcödé.txt", b"utf-8 name\n")
    _write(served / ("long-" * 12 + ".txt"), b"a name of more than 50 characters\n")
    _write(served / ("é" * 30 + ".txt"), b"34 characters, 64 bytes\n")
    _write(served / ("ü" * 60), b"60 characters, 120 bytes\n")
    _write(served / ("&" * 60), b"a long name to escape\n")
    _write(served / ".hidden", b"hidden\n")
    _write(served / "404.html", b"<p>custom not found page</p>\n")
    _write(served / "secret.txt", b"not readable by the workers\n", 0o600)
    for name in ("dir", "noindex", "noindex/sub", "locked", "sp dir", 'q"d<i>r'):
        (served / name).mkdir()
        (served / name).chmod(0o755)
    _write(served / "dir" / "index.html", b"<p>the dir index</p>\n")
    _write(served / "dir" / "other.html", b"<p>other</p>\n")
    _write(served / "noindex" / "a.txt", b"a\n")
    _write(served / "noindex" / "sub" / "b.txt", b"b\n")
    _write(served / "locked" / "index.html", b"<p>locked</p>\n")
    (served / "locked").chmod(0o700)
    (served / "link.txt").symlink_to("page.txt")
    (served / "dirlink").symlink_to("dir")
    (served / "outlink").symlink_to(outside / "secret")
    (served / "broken").symlink_to("nowhere")
    nobodys = served / "nobodys.txt"
    _write(nobodys, b"owned by nobody\n")
    os.chown(nobodys, NOBODY, NOBODY)
    (served / "tonobodys").symlink_to("nobodys.txt")
    for path in [*served.rglob("*"), served]:
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)
    return root
