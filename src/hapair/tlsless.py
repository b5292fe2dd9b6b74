"""asyncio for a process that speaks no TLS (the VRRP daemon), without the ssl module.

asyncio imports ssl whenever it can, and ssl maps OpenSSL's libssl and libcrypto: 4 MB of the VRRP daemon's
resident memory, whose budget is 20 MB (issue 15). asyncio works without it, as on a Python built without
ssl; only its own TLS (`ssl=` of the loop's connection calls) is then missing from the process. The ssl
module itself stays importable for code that needs it later (prometheus-client's exposition, with
`--metrics`)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_asyncio_without_ssl() -> ModuleType:
    """asyncio, imported without ssl unless one of them is imported already (then as it is)."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return importlib.import_module("asyncio")
    sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` raises ImportError meanwhile
    try:
        return importlib.import_module("asyncio")
    finally:
        del sys.modules["ssl"]
