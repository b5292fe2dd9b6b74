"""The modules compiled with mypyc (issue 16, point 3), and the guard that keeps a stale build from running.

The proxy's per-request modules are plain, type-annotated Python, compiled as they are by mypyc
(tools/build-extensions, run by `./run`'s set-up) into groups: each group a shared library holding the code
of its modules (`hapair/compiled*__mypyc*.so`), and a small extension per module beside its .py, in src/,
so that the editable install and `PYTHONPATH=src` both import them. Their classes become native classes
whose methods call each other directly, which is where the gain is (docs/request-cost.md, "Compiling
with mypyc"); calls from one group into another are native calls too. There are three groups so that a
worker loads only the code its configuration uses: HTTP/1 (every worker of an `http {}`), the L4 relay
and UDP sessions (only with a `stream {}`), HTTP/2 (only with `http2` listeners).

Python prefers an extension to the source beside it, so an extension built from an older .py would run
the old code. The build records each compiled module's source hash in `compiled.json` (git-ignored,
beside this file); `install()`, run when `hapair` is imported, puts a finder first on `sys.meta_path`
that imports every listed module from its .py when any of them differs from what the groups were built
from, when the record is missing or names other modules, or when `HAPAIR_PURE_PYTHON=1` asks for pure
Python. It is all or nothing, over every group: the compiled modules reach each other's native classes
inside their group and across groups, so one of them as Python beside the others compiled would break
them. Only modules the interpreter has already loaded are imported here: a command that loads no
compiled module pays nothing.

The C extensions (`NATIVE_MODULES`: the L4 relay's thread) are another matter: each is built from the .c
beside it, and its user imports it only when `native_is_current` says the record holds that .c's hash as
it is now (and pure Python is not asked); otherwise the user does without it (the Python relay).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import ModuleType

HTTP1_MODULES = (
    # L7, HTTP/1: the connection and its reading, the exchange and its phases, the upstream side, the
    # response head, the variables and the access log, the pool, the timers, the balancer.
    "hapair.proxy.http.client",
    "hapair.proxy.http.reading",
    "hapair.proxy.http.parse",
    "hapair.proxy.http.exchange",
    "hapair.proxy.http.phases",
    "hapair.proxy.http.proxying",
    "hapair.proxy.http.upstream",
    "hapair.proxy.http.upstream_response",
    "hapair.proxy.http.request",
    "hapair.proxy.http.headers",
    "hapair.proxy.http.response",
    "hapair.proxy.http.variables",
    "hapair.proxy.http.accesslog",
    "hapair.proxy.logformat",
    "hapair.proxy.http.service",
    "hapair.proxy.http.pool",
    "hapair.proxy.http.timers",
    "hapair.proxy.http.clock",
    "hapair.proxy.http.routing",
    "hapair.proxy.http.uri",
    "hapair.proxy.balancer",
    "hapair.proxy.balancing.peers",
    "hapair.proxy.balancing.round_robin",
    "hapair.proxy.http.flow",
    "hapair.proxy.http.logcontext",
    "hapair.proxy.http.escapes",
    "hapair.proxy.http.target",
    "hapair.proxy.http.headers_filter",
    "hapair.proxy.http.not_modified",
    "hapair.proxy.http.gzip",
    "hapair.proxy.http.memo",
    "hapair.proxy.http.rewrite",
    "hapair.proxy.http.subrequest",
)
STREAM_MODULES = (
    # L4: the TCP session and its relay, the UDP session, the listeners, the variables and the log
    "hapair.proxy.stream.session",
    "hapair.proxy.stream.relay",
    "hapair.proxy.stream.datagram",
    "hapair.proxy.stream.service",
    "hapair.proxy.stream.variables",
    "hapair.proxy.stream.accesslog",
    "hapair.proxy.stream.target",
)
HTTP2_MODULES = (
    # HTTP/2: the connection, its streams, the reading of a header list, the response heads' HPACK, the
    # frames read and written without h2's frame objects (h2/machine.py and h2/decoding.py extend h2's
    # and hpack's Python classes: they stay Python)
    "hapair.proxy.http.h2.connection",
    "hapair.proxy.http.h2.stream",
    "hapair.proxy.http.h2.request",
    "hapair.proxy.http.h2.encoding",
    "hapair.proxy.http.h2.frames",
)
# each group's name, and its modules: the group's shared library is its name and LIBRARY_SUFFIX
GROUPS = (
    ("hapair.compiled", HTTP1_MODULES),
    ("hapair.compiled_stream", STREAM_MODULES),
    ("hapair.compiled_h2", HTTP2_MODULES),
)
MODULES = tuple(module for _, modules in GROUPS for module in modules)
# C extensions, each from the .c file of its name beside its package's modules
NATIVE_MODULES = ("hapair.proxy.stream._native_relay", "hapair.proxy.stream._native_datagram")
LIBRARY_SUFFIX = "__mypyc"
LIBRARIES = tuple(group + LIBRARY_SUFFIX for group, _ in GROUPS)

PURE_PYTHON_VARIABLE = "HAPAIR_PURE_PYTHON"
RECORD = os.path.join(os.path.dirname(__file__), "compiled.json")


def pure_python_asked() -> bool:
    """True when the environment asks for pure Python (`HAPAIR_PURE_PYTHON` set, and not to 0)."""
    return os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0")


def source_path(module: str, root: str) -> str:
    return os.path.join(root, *module.split(".")) + ".py"


def native_source_path(module: str, root: str) -> str:
    return os.path.join(root, *module.split(".")) + ".c"


def native_sources(module: str, root: str) -> list[str]:
    """What the C extension `module`'s recorded hash covers: its .c and the headers beside it (`_*.h`,
    which the .c files of the directory include), so that a changed header makes the build stale too."""
    source = native_source_path(module, root)
    directory = os.path.dirname(source)
    headers = sorted(name for name in os.listdir(directory) if name.startswith("_") and name.endswith(".h"))
    return [source, *(os.path.join(directory, name) for name in headers)]


def source_hash(*sources: str) -> str:
    """The hash the build records for a module's source (or a C extension's sources, in order), and the
    guard compares."""
    # SHA-256 of Python's own (hashlib's fallback), not hashlib: hashlib sets up OpenSSL's digests, 0.65 MB
    # that the proxy's master would hand down to every worker it forks (issue 15's budget)
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # noqa: PLC0415 (Python 3.12 on)
    except ImportError:
        from _sha256 import sha256  # type: ignore[import-not-found]  # noqa: PLC0415 (Python 3.11)

    digest = sha256()
    for source in sources:
        with open(source, "rb") as file:
            digest.update(file.read())
    return str(digest.hexdigest())


def read_record(record: str = RECORD, part: str = "modules") -> dict[str, str]:
    """The build's record: module name to the hash of the source its extension was built from (`part`:
    "modules", the mypyc groups', or "native", the C extensions')."""
    import ast  # noqa: PLC0415 (only when an extension is found: see the module's docstring)

    # the record holds strings only, so that its JSON is a Python literal too: read without the json
    # module (0.1 MB more in each proxy worker, issue 15's budget); anything else is no record
    try:
        with open(record) as file:
            return dict(ast.literal_eval(file.read())[part])
    except (OSError, ValueError, KeyError, TypeError, SyntaxError, MemoryError, RecursionError):
        return {}


def build_is_current(modules: Sequence[str], record: str, root: str) -> bool:
    """Whether the record names exactly `modules`, each built from the .py under `root` as it is now."""
    built = read_record(record)
    if set(built) != set(modules):
        return False
    try:
        return all(built[module] == source_hash(source_path(module, root)) for module in modules)
    except OSError:
        return False


def native_is_current(module: str, record: str = RECORD) -> bool:
    """Whether the C extension `module` may be imported: pure Python is not asked, and the record says it
    was built from the .c beside it as it is now (no .c, as in a wheel: no)."""
    if pure_python_asked():
        return False
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        return read_record(record, "native").get(module) == source_hash(*native_sources(module, root))
    except OSError:
        return False


def native_extension(module: str) -> ModuleType | None:
    """The C extension `module`, when it may be imported (`native_is_current`) and imports; else None."""
    if not native_is_current(module):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


class SourceWhenStale:
    """A meta path finder for the compiled modules: the .py's spec for every one of them when the build
    is not current (or pure Python is asked); None, the ordinary import of the extension, when it is."""

    def __init__(
        self, modules: Sequence[str], libraries: Sequence[str], record: str, root: str, *, pure: bool
    ) -> None:
        """`libraries`: the groups' shared libraries' modules; `root`: the directory the modules'
        packages are in (src/, or site-packages)."""
        self._modules = frozenset(modules)
        self._libraries = frozenset(libraries)
        self._record = record
        self._root = root
        self._pure = pure
        self._current: bool | None = None

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name in self._libraries:
            # only an extension the guard let through imports its library, or one of a module no longer
            # listed, left by an older build: that one must not run beside the others as Python
            if not self._is_current():
                raise ImportError(f"{name}: not built from the sources beside it (tools/build-extensions)")
            return None
        if name not in self._modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None
        source = os.path.join(os.path.dirname(str(spec.origin)), name.rpartition(".")[2] + ".py")
        if not os.path.exists(source):
            return None
        if self._is_current():
            return None
        loader = importlib.machinery.SourceFileLoader(name, source)
        spec = importlib.machinery.ModuleSpec(name, loader, origin=source)
        spec.has_location = True  # __file__ and the bytecode cache, as for any source module
        return spec

    def _is_current(self) -> bool:
        if self._current is None:
            self._current = not self._pure and build_is_current(
                sorted(self._modules), self._record, self._root
            )
        return self._current


def install() -> None:
    """Put the guard first on sys.meta_path (once)."""
    if not any(isinstance(finder, SourceWhenStale) for finder in sys.meta_path):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        sys.meta_path.insert(0, SourceWhenStale(MODULES, LIBRARIES, RECORD, root, pure=pure_python_asked()))
