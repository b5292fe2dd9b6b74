"""pyroute2 with its package's `__init__` run only when something asks the package itself for a name.

pyroute2 0.9's `__init__` imports every module it has (NDB, IPDB, conntrack, IPVS, nl80211, plan9 ...,
and through them multiprocessing, unittest.mock and ssl): 125 ms and 23 MB over a bare interpreter.
hapair's VRRP side needs only its netlink message classes (pyroute2.netlink.rtnl.*), about 30 ms and 5 MB:
issue 15's budget for `hapair vrrp` is 150 ms to the first advert and 20 MB. `install()` puts the package
in `sys.modules` without running its `__init__`, so that importing a submodule loads that submodule and
what it imports. Nothing of pyroute2 is lost: a name asked of the package (`from pyroute2 import
IPRoute`, `pyroute2.__version__`) that is not a submodule runs the real `__init__` once, in the package's
own namespace, and is then found there, as if the package had been imported whole from the start.
`pyroute2.config` is made lean the same way: its `__init__` imports multiprocessing and platform (6 ms and
0.7 MB) for settings the message classes do not read; what they read when they are imported
(`CONFIG_AT_IMPORT`, the values its `__init__` gives them) is set beforehand, and any other name asked of
it runs its `__init__`. `hapair.net`'s `__init__` calls `install()`: every netlink module of hapair's is
below it."""

from __future__ import annotations

import importlib
import importlib.util
import socket
import sys
from types import ModuleType
from typing import Any

PACKAGE = "pyroute2"
CONFIG = f"{PACKAGE}.config"


def config_at_import() -> dict[str, Any]:
    """The settings of pyroute2.config that ifinfmsg reads when it is imported, as pyroute2 0.9 sets them."""
    return {"AF_BRIDGE": getattr(socket, "AF_BRIDGE", 7), "data_plugins_pkgs": [], "data_plugins_path": []}


def install() -> None:
    """Make `pyroute2` and `pyroute2.config` lean unless pyroute2 is already imported (then it stays as
    it is)."""
    if PACKAGE in sys.modules:
        return
    _lean(PACKAGE, {})
    _lean(CONFIG, config_at_import())


def _lean(name: str, preset: dict[str, Any]) -> None:
    """Put the package `name` in `sys.modules` with only `preset` in it, its `__init__` not run."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    package = importlib.util.module_from_spec(spec)
    package.__dict__.update(preset)
    package.__getattr__ = _Completion(package)  # type: ignore[method-assign]
    sys.modules[name] = package


class _Completion:
    """A lean package's module `__getattr__` (PEP 562): a submodule is imported (the import system asks
    the package for `config` in `from pyroute2 import config`), any other name runs `__init__` once."""

    def __init__(self, package: ModuleType) -> None:
        self.package = package
        self.done = False

    def __call__(self, name: str) -> Any:
        submodule = f"{self.package.__name__}.{name}"
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
            raise AttributeError(f"module {self.package.__name__!r} has no attribute {name!r}") from None
