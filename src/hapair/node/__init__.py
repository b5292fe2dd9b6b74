"""`hapair node`: the VRRP engine and the load balancer of one node, run together from keepalived.conf and
nginx.conf, with the proxy's health tracked natively by the VRRP instances in front of it.

- `daemon.py`: the node's process: the VRRP daemon in it, the proxy master a child under supervision.
- `bgp.py`: `hapair node --bgp`: the same node with hapair bgp's announcers in place of VRRP (N active nodes).
- `watch.py`: the proxy side both share: the supervised master, the health channel, the probe loops.
- `supervisor.py`: the proxy master's start, exit (from its pidfd), restart with back-off, reload, stop.
- `channel.py`: the health exchange with each proxy worker over a local (abstract unix) socket.
- `probes.py`: the loopback requests to the proxy's listeners and the reachability of its backends.
- `tracking.py`: the native trackers (`proxy`, `proxy_serving`, `backends`) and their rise/fall.
- `targets.py`: what the two configurations say: the instances whose VIPs the proxy listens on, the
  listeners to probe, the backends.
- `settings.py`: the tunables, from the command line and the node's settings file.
"""
