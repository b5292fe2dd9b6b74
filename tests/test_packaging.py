"""The wheel `pip wheel .` builds (issue 15: a clone's `pip install .` gives a working `hapair`): the
`hapair` command, every package, and the package data the commands read at run time (the lab's seed
files, the systemd units)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.reference import REPO

SOURCES = REPO / "src" / "hapair"


def test_the_wheel_has_the_command_the_packages_and_their_data(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("hapair-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [*SOURCES.glob("units/*.service"), *SOURCES.glob("dashboards/*.json")]
    data += [path for path in SOURCES.glob("lab/seed/**/*") if path.is_file()]
    modules = [p for p in SOURCES.rglob("*.py") if "__pycache__" not in p.parts]
    for path in (*data, *modules):
        assert str(path.relative_to(SOURCES.parent)) in names
    (entry_points,) = (name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "hapair = hapair.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    # a pure-Python wheel: extensions tools/build-extensions built in src/ stay out of it, with their record
    assert not [name for name in names if name.endswith((".so", "compiled.json"))]
