"""The main context: `worker_processes`, `pid`, `error_log`, `load_module`, and `events` with
`worker_connections` (nginx.c, ngx_log.c, ngx_event.c)."""

from __future__ import annotations

import os

from ..context import Block, Directive, Handler, Reading
from ..flags import EVENT_CONF, ModuleKind
from ..numbers import atoi
from ..settings import Placed
from .logs import error_log

STREAM_MODULE_FILE = "ngx_stream_module.so"


def worker_processes(block: Block, directive: Directive, reading: Reading) -> None:
    main = block.main
    if main.worker_processes is not None:
        raise directive.invalid("is duplicate")
    if directive.args[0] == "auto":
        main.worker_processes = Placed(main.system.cpu_count(), directive.place)
        main.worker_processes_auto = True
        return
    count = atoi(directive.args[0])
    if count is None:
        raise directive.invalid("invalid value")
    main.worker_processes = Placed(count, directive.place)


def pid(block: Block, directive: Directive, reading: Reading) -> None:
    main = block.main
    if main.pid is not None:
        raise directive.invalid("is duplicate")
    main.pid = Placed(directive.args[0], directive.place)


def main_error_log(block: Block, directive: Directive, reading: Reading) -> None:
    block.main.error_logs.append(error_log(block.main, directive))


def load_module(block: Block, directive: Directive, reading: Reading) -> None:
    """Only the stream module can be named: hapair has it built in, as it has the http modules."""
    main = block.main
    if main.modules_used:
        raise directive.invalid("is specified too late")
    path = main.paths.from_prefix(directive.args[0])
    if not os.path.exists(path):
        raise directive.error(
            f'dlopen() "{path}" failed ({path}: cannot open shared object file: No such file or directory)'
        )
    if os.path.basename(path) != STREAM_MODULE_FILE:
        raise directive.unsupported(f'the module "{path}"')
    if main.stream_loaded is not None:
        raise directive.error('module "ngx_stream_module" is already loaded')
    main.stream_loaded = directive.place


def events(block: Block, directive: Directive, reading: Reading) -> None:
    main = block.main
    if main.events is not None:
        raise directive.invalid("is duplicate")
    main.events = directive.place
    main.modules_used = True
    reading.parse_block(block.inner(ModuleKind.EVENT, EVENT_CONF))


def worker_connections(block: Block, directive: Directive, reading: Reading) -> None:
    main = block.main
    if main.worker_connections is not None:
        raise directive.invalid("is duplicate")
    count = atoi(directive.args[0])
    if count is None:
        raise directive.error(f'invalid number "{directive.args[0]}"')
    main.worker_connections = Placed(count, directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_core_module", "worker_processes"): worker_processes,
    ("ngx_core_module", "pid"): pid,
    ("ngx_core_module", "load_module"): load_module,
    ("ngx_errlog_module", "error_log"): main_error_log,
    ("ngx_events_module", "events"): events,
    ("ngx_event_core_module", "worker_connections"): worker_connections,
}
