"""A module of hapair run from its .py even where its mypyc extension is loaded (hapair/compiled.py).

Compiled code checks its arguments' types at run time (a parameter annotated `Peer` refuses None, one
annotated `Exchange` refuses a SimpleNamespace), so a unit test that hands a module duck-typed fakes runs
that module's source instead: the same code, as Python. Its relative imports still find the package's
modules as loaded (compiled or not); its classes are its own (compare with its enums, not the package's).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType


def source_module(name: str) -> ModuleType:
    """The module `name` as Python: the loaded one if it is, else a fresh one run from its .py."""
    loaded = importlib.import_module(name)
    if str(loaded.__file__).endswith(".py"):
        return loaded
    package, _, leaf = name.rpartition(".")
    # from the package's directory: a module the group's shared library imported has a __file__ of its own
    source = os.path.join(importlib.import_module(package).__path__[0], leaf + ".py")
    spec = importlib.util.spec_from_file_location(name, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
