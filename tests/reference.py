"""The keepalived reference material the tests compare against, kept in the repository as data (copied
from the project's shared references, `reference/keepalived-evidence` and `reference/keepalived-samples`,
unchanged), so that a clone alone passes the suite: the recorded runs of keepalived 2.2.7 (logs, dumps,
`-t` results and their configurations) and keepalived's sample configurations."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
EVIDENCE = DATA / "keepalived-evidence"
SAMPLES = DATA / "keepalived-samples"
