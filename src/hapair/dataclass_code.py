"""hapair's dataclasses' generated methods compiled once and kept beside their module's bytecode, rather than
compiled again at each start (issue 15's start-up budget).

`@dataclass` writes the source of each class's `__init__`, `__repr__` and `__eq__` (a frozen class's
`__setattr__`, `__delattr__` and `__hash__` too) and runs it with `exec` when the class is made, which
compiles it: half of the VRRP daemon's imports (32 of 63 ms of CPU time for its 79 dataclasses, 27 of 44 ms
in the child reading keepalived.conf, measured with time.process_time), and the text is the same at every
start. `cached()` lends the dataclasses module an `exec` of its own (the module looks `exec` up among its
globals before the builtins) that finds the code of each text from one of hapair's modules in a file beside
that module's bytecode (`__pycache__/NAME.cpython-311.dataclasses`: text -> code, in marshal's format as a
.pyc), and compiles the texts it does not find. When its block ends it writes again the file of each
module it compiled texts of, with the texts that module made: as Python writes bytecode, unless
`PYTHONDONTWRITEBYTECODE` says not to or the directory cannot be written (`python -m hapair.dataclass_code`
writes them for every module whatever the setting, as compileall does bytecode). A text's code is the same
compiled now or read back, so the classes are the same; the file's name carries the interpreter's cache
tag, a file that cannot be read is one not there, and a module changed since its file was written has
texts the file does not hold.

Memory (issue 15's budget): each entry is dropped from the file's as soon as its class takes it, and only
the code of texts compiled here is kept until the block's end, so that the texts and code a start would
have thrown away after each class are not held through the imports, where they would leave their pages
half full (0.35 MB more of the VRRP daemon's RSS when every text was kept to the end; 0.15 MB less than
compiling them when none is). A process forked inside the block starts afresh in a `cached()` block of its
own; a file is replaced whole (a temporary file renamed), so two processes writing one at once leave
either's."""

from __future__ import annotations

import dataclasses
import marshal
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from types import CodeType
from typing import Any

PACKAGE = "hapair."
SUFFIX = ".dataclasses"


class ModuleCode:
    """One module's texts' code: the file's entries not taken yet, the texts taken (by hash, to pick what
    is written), the code of those compiled here (when it may be written)."""

    __slots__ = ("compiled", "keep", "path", "stored", "used")

    def __init__(self, path: str, *, keep: bool) -> None:
        self.path = path
        self.stored = read_code(path)
        self.used: set[int] = set()
        self.compiled: dict[str, CodeType] = {}
        self.keep = keep

    def code(self, source: str) -> CodeType:
        key = hash(source)
        code = self.stored.pop(source, None)
        if code is None:
            code = compile(source, "<string>", "exec")
            # a text made again (two classes' equal __eq__) was taken from the file the first time
            if self.keep and key not in self.used:
                self.compiled[source] = code
        self.used.add(key)
        return code

    def write(self) -> None:
        """The file again, with the texts this module made: those compiled here and the file's others."""
        if not self.compiled:
            return
        kept = {text: code for text, code in read_code(self.path).items() if hash(text) in self.used}
        kept.update(self.compiled)
        write_code(self.path, kept)
        self.compiled = {}


class CodeCache:
    """The modules' texts' code, each module's file read when its first text comes."""

    def __init__(self, *, writing: bool) -> None:
        """`writing`: whether the files of the modules with texts compiled here are to be written."""
        self.modules: dict[str, ModuleCode] = {}
        self.writing = writing
        self.pid = os.getpid()

    def exec(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        """`exec` as the dataclasses module calls it, with the code of a text compiled before."""
        path = code_path(globals) if type(source) is str else None
        if path is not None:
            module = self.modules.get(path)
            if module is None:
                module = self.modules[path] = ModuleCode(path, keep=self.writing)
            source = module.code(source)
        exec(source, globals, locals)

    def compiled(self) -> int:
        """How many modules have texts compiled here, not written yet."""
        return sum(1 for module in self.modules.values() if module.compiled)

    def write(self) -> None:
        for module in self.modules.values():
            module.write()


def code_path(globals: Mapping[str, Any] | None) -> str | None:
    """The file for the texts of the module whose globals these are, if it is one of hapair's with
    bytecode's place (`__cached__`)."""
    if not globals or not str(globals.get("__name__", "")).startswith(PACKAGE):
        return None
    cached = globals.get("__cached__")
    if not isinstance(cached, str) or not cached.endswith(".pyc"):
        return None
    return cached.removesuffix(".pyc") + SUFFIX


def read_code(path: str) -> dict[str, CodeType]:
    """A file's entries; none if it is missing or cannot be read."""
    try:
        with open(path, "rb") as file:
            code = marshal.loads(file.read())  # (marshal.load reads the file field by field: 7 times slower)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return code if isinstance(code, dict) else {}


def write_code(path: str, code: dict[str, CodeType]) -> None:
    """Replace the file with these entries (nothing if it cannot be written)."""
    temporary = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as file:
            marshal.dump(code, file)
        os.replace(temporary, path)
    except OSError:
        with suppress(OSError):
            os.unlink(temporary)


_active: CodeCache | None = None


@contextmanager
def cached(*, writing: bool | None = None) -> Iterator[CodeCache]:
    """Make the block's dataclasses with code kept in their modules' files, and write the files of those
    whose texts were compiled (`writing`: unless bytecode is not to be written). Within another block of
    the same process, that block's cache serves and writes."""
    global _active  # noqa: PLW0603 (one exec is lent to the dataclasses module at a time)
    outer = _active
    if outer is not None and outer.pid == os.getpid():
        yield outer
        return
    cache = CodeCache(writing=not sys.dont_write_bytecode if writing is None else writing)
    lent = vars(dataclasses).get("exec")
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    _active = cache
    try:
        yield cache
    finally:
        if lent is None:
            del dataclasses.exec  # type: ignore[attr-defined]
        else:
            dataclasses.exec = lent  # type: ignore[attr-defined]
        _active = outer
        if cache.writing:
            cache.write()


def write_all() -> int:
    """Import every module of hapair and write the files of their dataclasses' code that are missing or
    lack texts (`python -m hapair.dataclass_code`); the number of files written."""
    import importlib  # noqa: PLC0415 (only here)
    import pkgutil  # noqa: PLC0415

    import hapair  # noqa: PLC0415

    with cached(writing=True) as cache:
        for module in pkgutil.walk_packages(hapair.__path__, PACKAGE):
            if not module.name.endswith(".__main__"):
                importlib.import_module(module.name)
        written = cache.compiled()
    return written


if __name__ == "__main__":
    from hapair.dataclass_code import write_all as write_every_file  # the module's one copy, not __main__'s

    print(f"{write_every_file()} file(s) of dataclasses' code written")
