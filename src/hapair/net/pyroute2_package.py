"""pyroute2 with its package's `__init__` run only when something asks the package itself for a name.

pyroute2 0.9's `__init__` imports every module it has (NDB, IPDB, conntrack, IPVS, nl80211, plan9 ...,
and through them multiprocessing, unittest.mock and ssl): 125 ms and 23 MB over a bare interpreter.
hapair's VRRP side needs only its netlink message classes (pyroute2.netlink.rtnl.*), about 30 ms and 5 MB:
issue 15's budget for `hapair vrrp` is 150 ms to the first advert and 20 MB. `install()` puts the package
in `sys.modules` without running its `__init__`, so that importing a submodule loads that submodule and
what it imports. Nothing of pyroute2 is lost: a name asked of the package (`from pyroute2 import
IPRoute`, `pyroute2.__version__`) that is not a submodule runs the real `__init__` once, in the package's
own namespace, and is then found there, as if the package had been imported whole from the start.
`hapair.net`'s `__init__` calls `install()`: every netlink module of hapair's is below it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

PACKAGE = "pyroute2"


def install() -> None:
    """Make `pyroute2` lean unless it is already imported (then it stays as it is)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {PACKAGE!r}", name=PACKAGE)
    package = importlib.util.module_from_spec(spec)
    package.__getattr__ = _Completion(package)  # type: ignore[method-assign]
    sys.modules[PACKAGE] = package


class _Completion:
    """The lean package's module `__getattr__` (PEP 562): a submodule is imported (the import system asks
    the package for `config` in `from pyroute2 import config`), any other name runs `__init__` once."""

    def __init__(self, package: ModuleType) -> None:
        self.package = package
        self.done = False

    def __call__(self, name: str) -> Any:
        submodule = f"{PACKAGE}.{name}"
        if submodule in sys.modules or importlib.util.find_spec(submodule) is not None:
            return importlib.import_module(submodule)
        if not self.done:
            self.done = True
            spec = self.package.__spec__
            assert spec is not None and spec.loader is not None
            spec.loader.exec_module(self.package)
        try:
            return self.package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None
