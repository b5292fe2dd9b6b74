"""The VRRP engine: a pure protocol core (packets, receive checks, the per-instance state machine, tracking)
and the daemon that connects it to sockets, netlink, scripts, signals and the clock."""
