"""The shared reference material: `../shared` beside the project root, where CI has it too."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
EVIDENCE = REFERENCE / "keepalived-evidence"
SAMPLES = REFERENCE / "keepalived-samples"
