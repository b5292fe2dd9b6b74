"""The machine's network, through netlink (pyroute2): interfaces, addresses, link events."""
