"""The L7 HTTP data plane: nginx's `http` proxying on asyncio with uvloop.

`serve_http(config, reuse_port=...)` starts the listeners of an `HttpConfig` on the running loop and
returns an `HttpService` (`drain()`, `close()`, `wait_closed()`).

How the package is laid out, after nginx's: `client` (the client connection and its timeouts), `h2` (an HTTP/2
client connection and its streams, each the client side of an exchange, as `client` is for HTTP/1.x;
`clientside` says what an exchange asks of either), `parse` (nginx's grammar of request lines, status lines,
header lines and chunks) and `reading` (a request read as nginx reads it: its head in nginx's header buffers,
its body), `request` (a request's head), `routing` (server and location choice), `exchange` (one request
through nginx's phases, and its response), `phases` (what a location's requests go through: its steps and
header filters), `rewrite` (the rewrite module's script), `proxying` (the upstream half of a proxied request:
peers, retries, the request body), `body` (a request body read whole, nginx's proxy_request_buffering),
`upstream` (a connection to an upstream, its response read as nginx's proxy reads it), `pool` (idle upstream
connections), `headers` (the request head sent upstream), `upstream_response` (what is done with an upstream's
response head: proxy_redirect, hidden headers, X-Accel-*), `spool` (a buffered response held for a slow
client), `response` (a response head, written in nginx's order), `pages` (nginx's own pages), `variables`
(nginx's variables), `tls` (SSL contexts), `accesslog` (log files), `service` (listeners, servers and
locations made ready), with `flow`, `timers`, `clock`, `uri` and `limits` beside them. The modules a
location's requests go through before its content handler are put together by `phases`: `realip`, `limit_req`,
`limit_conn` (with `zones` and `keyindex`, over the shared memory zones of `hapair.proxy.shm`), `access` and
`auth_basic`; the content handlers for files (`static`, `index`, `autoindex`, `try_files`, with `files`,
`openfile` and `filebody`) and nginx's filters (`not_modified`, `headers_filter`, `charset`, `gzip`,
`ranges`).

Where hapair differs from nginx on purpose: docs/nginx-differences.md (each module's documentation has
the details).
"""

from .limits import DEFAULT_LIMITS, Limits
from .service import HttpService, serve_http

__all__ = ["DEFAULT_LIMITS", "HttpService", "Limits", "serve_http"]
