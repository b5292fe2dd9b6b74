"""The machine's network, through netlink (pyroute2): interfaces, addresses, link events.

pyroute2 is made lean here, before any module below imports it (pyroute2_package.py)."""

from . import pyroute2_package

pyroute2_package.install()
