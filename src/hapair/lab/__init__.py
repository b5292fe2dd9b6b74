"""`hapair lab`: the seed's whole two-node system on one machine, in network namespaces.

Two load-balancer nodes (`hapair vrrp` + `hapair proxy`, or the real keepalived / nginx), a client and the
backend web server sit on a LAN whose bridge lives in its own namespace; nothing touches the machine's own
network. `layout` names everything, `network` builds the namespaces (pyroute2), `nodes` runs each node's
processes, `faults` breaks and mends them, `status` reports, `client` is the client's polling loop, `demo`
tells the seed's failover story, `lab` ties up/down together and `state` keeps what `up` built for the
later commands."""
