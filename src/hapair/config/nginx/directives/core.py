"""The main context and `events` (nginx.c, ngx_log.c, ngx_regex.c, ngx_event.c, ngx_thread_pool.c): how
the processes run (`daemon`, `master_process`, `user`, `worker_*`, `env`...), `pid`, `error_log`,
`load_module`, `thread_pool`, and `events` with `worker_connections`, `use`, `multi_accept` and
`accept_mutex*`.

What hapair refuses by name, having no handler here: `timer_resolution`, `debug_points`, `ssl_engine`,
`debug_connection`, `epoll_events`, `worker_aio_requests`; and in the directives it reads,
`multi_accept off` and `accept_mutex on` (its workers each accept on their own SO_REUSEPORT sockets,
every pending connection at once).
"""

from __future__ import annotations

import os

from ..context import Block, Directive, Handler, Reading
from ..flags import EVENT_CONF, ModuleKind
from ..model.config import CpuAffinity, WorkerUser
from ..model.place import Place
from ..numbers import atoi
from ..settings import Placed, Slot
from ..state import (
    ACCEPT_MUTEX,
    ACCEPT_MUTEX_DELAY,
    DAEMON,
    LOCK_FILE,
    MASTER_PROCESS,
    MULTI_ACCEPT,
    PCRE_JIT,
    THREAD_POOL_MAX_QUEUE,
    WORKER_RLIMIT_CORE,
    WORKER_RLIMIT_NOFILE,
    WORKER_SHUTDOWN_TIMEOUT,
    WORKING_DIRECTORY,
)
from .logs import error_log
from .setters import flag, msec, number, offset, string

STREAM_MODULE_FILE = "ngx_stream_module.so"
EVENT_METHOD = "epoll"  # the only event module of Debian's build ("select" and "poll" are left out)
CPU_SETSIZE = 1024


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


def user(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_set_user: the names are looked up now; a master that is not root ignores the directive."""
    main = block.main
    if main.user is not None:
        raise directive.invalid("is duplicate")
    if not main.system.is_root():
        reading.warn(
            'the "user" directive makes sense only if the master process runs with super-user '
            "privileges, ignored",
            directive.place,
        )
        return
    name = directive.args[0]
    uid = main.system.user_id(name)
    if uid is None:
        raise directive.error(f'getpwnam("{name}") failed')
    group = directive.args[-1]
    gid = main.system.group_id(group)
    if gid is None:
        raise directive.error(f'getgrnam("{group}") failed')
    main.user = Placed(WorkerUser(name, uid, gid), directive.place)


def worker_priority(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_set_priority: a signed number; a second one after a non-zero value is a duplicate."""
    main = block.main
    if main.worker_priority is not None and main.worker_priority.value != 0:
        raise directive.invalid("is duplicate")
    text = directive.args[0]
    sign = -1 if text.startswith("-") else 1
    value = atoi(text[1:] if text[:1] in ("-", "+") else text)
    if value is None:
        raise directive.invalid("invalid number")
    main.worker_priority = Placed(sign * value, directive.place)


def worker_cpu_affinity(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_set_cpu_affinity: `auto [MASK]` or a mask per worker, each a string of 0 and 1 (rightmost is
    CPU 0; spaces are skipped)."""
    main = block.main
    if main.cpu_affinity is not None:
        raise directive.invalid("is duplicate")
    masks = list(directive.args)
    auto = masks[0] == "auto"
    if auto:
        if len(masks) > 2:
            raise directive.error('invalid number of arguments in "worker_cpu_affinity" directive')
        masks[0] = "1" * min(main.system.cpu_count(), CPU_SETSIZE)
    main.cpu_affinity = Placed(
        CpuAffinity(auto, tuple(_cpu_mask(directive, mask) for mask in masks)), directive.place
    )


def _cpu_mask(directive: Directive, mask: str) -> frozenset[int]:
    if len(mask) > CPU_SETSIZE:
        raise directive.error(f'"worker_cpu_affinity" supports up to {CPU_SETSIZE} CPUs only')
    cpus: set[int] = set()
    digits = [ch for ch in reversed(mask) if ch != " "]
    for cpu, ch in enumerate(digits):
        if ch not in "01":
            raise directive.error(f'invalid character "{ch}" in "worker_cpu_affinity"')
        if ch == "1":
            cpus.add(cpu)
    return frozenset(cpus)


def env(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_set_env: `NAME` keeps the variable for the workers, `NAME=value` sets it."""
    block.main.environment.append(directive.args[0])


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


def use(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_event_use: the event method, by its module's name. nginx also takes "event_core", the name of
    its own core events module, which is no method at all: hapair refuses it as any other name."""
    main = block.main
    if main.event_method is not None:
        raise directive.invalid("is duplicate")
    if directive.args[0] != EVENT_METHOD:
        raise directive.error(f'invalid event type "{directive.args[0]}"')
    main.event_method = Placed(directive.args[0], directive.place)


def _only(slot: Slot[bool], supported: bool) -> Handler:
    """`on`/`off` read as nginx reads them, the other value refused: what hapair's workers do is fixed."""
    read = flag(slot)

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        read(block, directive, reading)
        if block.level().value(slot, supported) != supported:
            raise directive.unsupported(f'"{directive.args[0]}"')

    return handle


def thread_pool_add(block: Block, name: str, place: Place) -> None:
    """ngx_thread_pool_add: a pool named for the first time is noted with where (threads 0: undefined)."""
    block.main.thread_pools.setdefault(name, (0, THREAD_POOL_MAX_QUEUE, place))


def thread_pool(block: Block, directive: Directive, reading: Reading) -> None:
    """`thread_pool NAME threads=N [max_queue=N]` (ngx_thread_pool); other parameters are ignored, as
    nginx ignores them."""
    name = directive.args[0]
    thread_pool_add(block, name, directive.place)
    threads, _, first = block.main.thread_pools[name]
    if threads:
        raise directive.error(f'duplicate thread pool "{name}"')
    max_queue = THREAD_POOL_MAX_QUEUE
    for arg in directive.args[1:]:
        if arg.startswith("threads="):
            threads = atoi(arg[8:]) or 0
            if not threads:
                raise directive.error(f'invalid threads value "{arg}"')
        elif arg.startswith("max_queue="):
            queue = atoi(arg[10:])
            if queue is None:
                raise directive.error(f'invalid max_queue value "{arg}"')
            max_queue = queue
    if not threads:
        raise directive.error('"thread_pool" must have "threads" parameter')
    block.main.thread_pools[name] = (threads, max_queue, first)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_thread_pool_module", "thread_pool"): thread_pool,
    ("ngx_core_module", "daemon"): flag(DAEMON),
    ("ngx_core_module", "master_process"): flag(MASTER_PROCESS),
    ("ngx_core_module", "pid"): pid,
    ("ngx_core_module", "lock_file"): string(LOCK_FILE),
    ("ngx_core_module", "worker_processes"): worker_processes,
    ("ngx_core_module", "user"): user,
    ("ngx_core_module", "worker_priority"): worker_priority,
    ("ngx_core_module", "worker_cpu_affinity"): worker_cpu_affinity,
    ("ngx_core_module", "worker_rlimit_nofile"): number(WORKER_RLIMIT_NOFILE),
    ("ngx_core_module", "worker_rlimit_core"): offset(WORKER_RLIMIT_CORE),
    ("ngx_core_module", "worker_shutdown_timeout"): msec(WORKER_SHUTDOWN_TIMEOUT),
    ("ngx_core_module", "working_directory"): string(WORKING_DIRECTORY),
    ("ngx_core_module", "env"): env,
    ("ngx_core_module", "load_module"): load_module,
    ("ngx_errlog_module", "error_log"): main_error_log,
    ("ngx_regex_module", "pcre_jit"): flag(PCRE_JIT),
    ("ngx_events_module", "events"): events,
    ("ngx_event_core_module", "worker_connections"): worker_connections,
    ("ngx_event_core_module", "use"): use,
    ("ngx_event_core_module", "multi_accept"): _only(MULTI_ACCEPT, supported=True),
    ("ngx_event_core_module", "accept_mutex"): _only(ACCEPT_MUTEX, supported=False),
    ("ngx_event_core_module", "accept_mutex_delay"): msec(ACCEPT_MUTEX_DELAY),
}
