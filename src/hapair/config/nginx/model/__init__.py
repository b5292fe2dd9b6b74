"""The typed model of an nginx configuration: what the load balancer runs from.

Every value is final: defaults filled in and inheritance (http -> server -> location, stream -> server)
resolved as nginx merges its configuration. Durations are in milliseconds unless a name says seconds, sizes
in bytes, paths absolute.
"""
