"""The L7 HTTP data plane: nginx's `http` proxying on asyncio with uvloop.

`serve_http(config, reuse_port=...)` starts the listeners of an `HttpConfig` on the running loop and
returns an `HttpService` (`drain()`, `close()`, `wait_closed()`).

How the package is laid out: `client` (the client connection and its timeouts), `parse` (nginx's
grammar of request lines, status lines, header lines and chunks) and `reading` (a request read as nginx
reads it: its head in nginx's header buffers, its body), `request` (a request's head), `routing` (server
and location choice), `exchange` (one request, from its head to its log line), `proxying` (the upstream
half), `upstream` (a connection to an upstream, its response read as nginx's proxy reads it), `pool`
(idle upstream connections), `headers` (the request head sent upstream), `variables` (nginx's
variables), `tls` (SSL contexts), `accesslog` (log files), `pages` (nginx's error pages), `service`
(listeners), with `flow`, `timers`, `clock`, `uri` and `limits` beside them.

Where hapair differs from nginx on purpose (each module's documentation has the details):

- Upstream connections are kept and reused by default (nginx opens one per request unless the upstream
  has `keepalive`); see `pool` and `headers` (nginx's default `Connection: close` is replaced).
- Request bodies are streamed to the upstream as they arrive (nginx reads them whole first,
  `proxy_request_buffering on`), except a chunked body for an HTTP/1.0 upstream, which is read whole to
  send its length; responses are streamed too (nginx buffers them, `proxy_buffering on`).
- A response framed two ways (Content-Length values that differ, or Content-Length with chunks) is
  refused (502); nginx 1.22 takes the last length or the chunks.
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
