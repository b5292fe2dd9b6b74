"""Regular expressions of `location ~` and `server_name ~`: nginx compiles them with PCRE2, hapair with
Python's `re`, which reads PCRE's named groups `(?<name>...)` once they are written `(?P<name>...)`. A
pattern `re` rejects is an error naming hapair; patterns both accept match the same in practice."""

from __future__ import annotations

import re

from ..errors import ConfigError
from ..model.place import Place

_PCRE_NAMED_GROUP = re.compile(r"\(\?(?:<(?![=!])|')(\w+)[>']")


def compile_regex(source: str, *, caseless: bool, place: Place) -> re.Pattern[str]:
    python_source = _PCRE_NAMED_GROUP.sub(r"(?P<\1>", source)
    try:
        return re.compile(python_source, re.IGNORECASE if caseless else 0)
    except re.error as exc:
        raise ConfigError(
            f'hapair cannot compile the regular expression "{source}": {exc.msg}', place
        ) from exc
