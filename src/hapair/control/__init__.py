"""The daemons' local control sockets (issue 15): `hapair status` reads each running daemon's state as
JSON through a unix socket (root-only by default, under /run/hapair), and `--follow` streams the state
changes as JSON lines, in the order they happen.

`protocol` is the pure part (requests, the events made from keepalived's notification lines); `server`
the asyncio unix-socket server a daemon runs; `client` what `hapair status` uses."""
