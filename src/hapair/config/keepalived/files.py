"""Finding configuration files the way keepalived's `glob(GLOB_MARK | GLOB_BRACE)` does.

Python's `glob` has no csh braces, and brace expansion libraries (e.g. `braceexpand`) follow bash, which
also expands `{1..3}` ranges that glibc leaves alone; so the glibc form is written out here.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

MAGIC = "*?["


def expand_braces(pattern: str) -> list[str]:
    """glibc GLOB_BRACE: expand the first `{a,b}` group (nesting allowed, `\\` escapes), then the rest."""
    start = _find_unescaped(pattern, "{", 0)
    while start >= 0:
        alternatives, end = _split_group(pattern, start)
        if end >= 0:
            head, tail = pattern[:start], pattern[end + 1 :]
            return [result for alt in alternatives for result in expand_braces(head + alt + tail)]
        start = _find_unescaped(pattern, "{", start + 1)
    return [pattern]


def has_brace(pattern: str) -> bool:
    return _find_unescaped(pattern, "{", 0) >= 0


def _find_unescaped(text: str, char: str, pos: int) -> int:
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == char:
            return pos
        pos += 1
    return -1


def _split_group(pattern: str, start: int) -> tuple[list[str], int]:
    """The comma-separated alternatives of the brace group opening at `start`, and its closing index."""
    depth, pos, piece_start = 0, start + 1, start + 1
    pieces: list[str] = []
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                pieces.append(pattern[piece_start:pos])
                return pieces, pos
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(pattern[piece_start:pos])
            piece_start = pos + 1
        pos += 1
    return [], -1


@dataclass(frozen=True, slots=True)
class GlobResult:
    paths: list[str]  # directories end in "/" (GLOB_MARK)
    missing: bool  # some plain path, or the directory part of a pattern, does not exist
    wildcards: bool  # a directory had to be read to match a pattern


def _mark(path: str, cwd: str) -> str:
    return path + "/" if os.path.isdir(os.path.join(cwd, path)) and not path.endswith("/") else path


def _missing_directory(pattern: str, cwd: str) -> bool:
    """Whether the part of `pattern` before its first wildcard names a directory that does not exist."""
    cut = min((pattern.find(m) for m in MAGIC if m in pattern), default=len(pattern))
    directory = os.path.dirname(pattern[:cut])
    return bool(directory) and not os.path.isdir(os.path.join(cwd, directory))


def find_files(pattern: str, cwd: str) -> GlobResult:
    paths: list[str] = []
    missing = wildcards = False
    for alternative in expand_braces(pattern):
        if any(m in alternative for m in MAGIC):
            wildcards = True
            import glob  # noqa: PLC0415 (only for includes with wildcards)

            matches = sorted(glob.glob(alternative, root_dir=cwd))
            missing = missing or (not matches and _missing_directory(alternative, cwd))
            paths.extend(_mark(m, cwd) for m in matches)
        elif os.path.lexists(os.path.join(cwd, alternative)):
            paths.append(_mark(alternative, cwd))
        else:
            missing = True
    return GlobResult(paths, missing, wildcards)


def regular_non_executable(path: str, cwd: str) -> bool:
    try:
        mode = os.stat(os.path.join(cwd, path)).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and not mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def directory_of(path: str, cwd: str) -> str:
    """keepalived `chdir`s into the directory of every file it opens whose name has a `/` in it."""
    if "/" not in path:
        return cwd
    return os.path.normpath(os.path.join(cwd, os.path.dirname(path)))
