"""The L7 HTTP data plane: nginx's `http` proxying on asyncio with uvloop and httptools.

`serve_http(config, reuse_port=...)` starts the listeners of an `HttpConfig` on the running loop and
returns an `HttpService` (`drain()`, `close()`, `wait_closed()`).

How the package is laid out: `client` (the client connection, its parser and its timeouts), `request`
(a request's head, checked), `routing` (server and location choice), `exchange` (one request proxied:
peers, retries, the response relayed), `upstream` (a connection to an upstream, its parser), `pool`
(idle upstream connections), `headers` (the request head sent upstream), `upstream_response` (what is
done with an upstream's response head: proxy_redirect, hidden headers, X-Accel-*), `spool` (a buffered
response held for a slow client), `gzip` (the gzip filter), `phases` (what a location's requests go
through), `variables` (nginx's variables), `tls` (SSL contexts), `accesslog` (log files), `pages`
(nginx's error pages), `service` (listeners), with `flow`, `timers`, `clock`, `uri` and `limits` beside
them.

Where hapair differs from nginx on purpose (each module's documentation has the details):

- Upstream connections are kept and reused by default (nginx opens one per request unless the upstream
  has `keepalive`); see `pool` and `headers` (nginx's default `Connection: close` is replaced).
- Bodies are buffered as nginx buffers them (`proxy_request_buffering`, `proxy_buffering`: `body`,
  `spool`), with the differences docs/nginx-differences.md lists (what is held in memory, the temporary
  files' names).
- `Upgrade` requests (WebSocket) are tunnelled without extra configuration.
- The `Server` header says `hapair` and the error pages end in `<center>hapair</center>` (nginx's shape
  with `server_tokens off`).
- A location without `proxy_pass`, or a request no location matches, is answered 404: hapair serves no
  files. An invalid upstream response is answered 502 (nginx would pass an HTTP/0.9 answer through).
- Limits and timeouts the model does not carry are nginx's defaults, from `limits.Limits`.
- No error log is written.
"""

from .limits import DEFAULT_LIMITS, Limits
from .service import HttpService, serve_http

__all__ = ["DEFAULT_LIMITS", "HttpService", "Limits", "serve_http"]
