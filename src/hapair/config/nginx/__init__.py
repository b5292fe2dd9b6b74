"""nginx 1.22's configuration language: reader, directives, typed model and `nginx -t` checks.

`load.load(conf_file, prefix, system, test=..., directives=..., error_log=...)` reads a configuration
(after the directives of `-g`) the way `nginx -t` does (Debian's nginx 1.22.1 with libnginx-mod-stream)
and returns the model (`model.config.NginxConfig`) or the first error, worded as nginx words it, with
nginx's file and line. The flow follows nginx's: `lexer` (ngx_conf_read_token), `reader` (ngx_conf_parse,
ngx_conf_handler, include), `directives/` (one handler per directive, filling `state`), `finish/` (what
nginx does when the http and stream blocks end: merges, upstream resolution, TLS files, variables, server
names), `startup` (what nginx does once the file is read: the workers' default user, connections, log
files, and with `-t` the listening sockets).

Where hapair answers differently from nginx, on purpose:

- A directive, parameter or variable nginx knows and hapair does not implement is an error naming it
  (`hapair does not support the "gunzip" directive in F:N`), found where nginx would accept it; nginx's own
  checks of the directive (context, argument count) come first.
- The stream module needs no `load_module`; `load_module` accepts only ngx_stream_module.so.
- A file may be the inside of `http {}` or main-level directives without `events` (see `load`); nginx
  would refuse both as a whole nginx.conf (`no "events" section`).
- Regular expressions are Python's `re` (PCRE's `(?<name>` groups are read), with hapair's message when
  a pattern does not compile.
- `-t` does not create the pid file, the lock file or nginx's temporary directories; log files are opened
  (and created) and sockets bound, as nginx does.
- `multi_accept off`, `accept_mutex on`, `use event_core` are refused, and `worker_connections` is not
  enforced by the data planes (see docs/nginx-differences.md).
- Server push (`http2_push` with a URI, `http2_push_preload on`) is refused; `http2_recv_buffer_size`,
  `http2_pool_size` and `http2_streams_index_size` are checked and change nothing.
- `directio` with a size, a thread pool named by variables and `charset_map` are refused;
  `open_file_cache` and its companions are checked and cache nothing (see docs/nginx-differences.md).
- Blocks and includes nest at most 100 deep.
- OpenSSL's messages for certificates are nginx's for missing files, files without PEM data, keys that do
  not match and cipher lists that select nothing; rarer failures give Python's `ssl` reason.
"""
