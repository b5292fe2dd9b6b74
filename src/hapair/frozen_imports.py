"""Imports made out of the cyclic garbage collector's way, for a daemon's start-up.

Importing the VRRP daemon's 280 modules makes almost no cyclic garbage (196 objects, measured), yet the
collector's automatic collections during the imports scan every object imported so far again and again:
about 10 ms of the daemon's start. `frozen()` pauses the collector while its block imports, then freezes
what is there (`gc.freeze`): the modules are left out of every later collection, so that the daemon's
own collection before its routers start looks only at what it made since (the configuration), not at
the 26,000 objects of its modules. A reload's `gc.unfreeze` gives them back to the collector. The block's
dataclasses get their methods' code from the file of those compiled before (dataclass_code.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from hapair import dataclass_code


@contextmanager
def frozen() -> Iterator[None]:
    """Run the block with the collector paused and dataclasses' code cached, then freeze every object
    there is; the collector's state (enabled or not) is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with dataclass_code.cached():
            yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
