"""hapair: a highly available load-balancer pair (keepalived-compatible VRRP, nginx-compatible proxy)."""

__version__ = "0.1.0"

from hapair import compiled

compiled.install()
