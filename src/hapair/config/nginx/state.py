"""What the reader fills while it reads: nginx's configuration structures, one per block, before they are
merged and turned into the model. Handlers (`directives/`) write them; `finish_http` and `finish_stream`
read them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model.addresses import SocketAddress
from .model.config import CpuAffinity, WorkerUser
from .model.health import DEFAULT_FAILS, DEFAULT_INTERVAL_MS, DEFAULT_PASSES, DEFAULT_URI, Match
from .model.http import NGX_LISTEN_BACKLOG, HttpConfig, LocationMatch
from .model.logging import ErrorLog, LogFormat
from .model.place import Place
from .model.rewrite import Break, Condition, Return, Rewrite, SetVariable
from .model.sockets import NO_OPTIONS, SocketOptions
from .model.stream import StreamConfig
from .model.templates import Template
from .model.upstream import Balancing, UpstreamServer
from .model.variables import MadeVariable
from .paths import Paths
from .settings import Level, Placed, Slot
from .system import System
from .variables import VariableUses

DEFAULT_WORKER_CONNECTIONS = 512

# the core and events directives kept in MainState.level
DAEMON: Slot[bool] = Slot("daemon")
MASTER_PROCESS: Slot[bool] = Slot("master_process")
LOCK_FILE: Slot[str] = Slot("lock_file")
WORKER_RLIMIT_NOFILE: Slot[int] = Slot("worker_rlimit_nofile")
WORKER_RLIMIT_CORE: Slot[int] = Slot("worker_rlimit_core")
WORKER_SHUTDOWN_TIMEOUT: Slot[int] = Slot("worker_shutdown_timeout")
WORKING_DIRECTORY: Slot[str] = Slot("working_directory")
PCRE_JIT: Slot[bool] = Slot("pcre_jit")
MULTI_ACCEPT: Slot[bool] = Slot("multi_accept")
ACCEPT_MUTEX: Slot[bool] = Slot("accept_mutex")
ACCEPT_MUTEX_DELAY: Slot[int] = Slot("accept_mutex_delay")


@dataclass
class OpenFile:
    """A file nginx opens once the configuration is read (cycle->open_files): logs."""

    path: str
    origin: Place | None
    buffering: tuple[int, int] | None = None  # (buffer, flush) of the buffered access logs written to it


@dataclass(frozen=True, slots=True)
class Listening:
    """A socket nginx opens for the configuration (cycle->listening)."""

    address: SocketAddress
    ipv6only: bool
    origin: Place | None
    udp: bool = False  # SOCK_DGRAM (a stream `listen ... udp`)


@dataclass
class UpstreamState:
    """An upstream group: an `upstream` block (explicit), or one nginx makes for a `proxy_pass` naming a
    host (ngx_http_upstream_srv_conf_t)."""

    name: str
    place: Place
    explicit: bool
    port: int = 0
    no_port: bool = False
    servers: list[UpstreamServer] | None = None  # None: an implicit group, resolved when the block ends
    level: Level = field(default_factory=Level)  # keepalive_timeout & co.
    balancing: Balancing = Balancing.ROUND_ROBIN
    method_set: bool = False  # a balancing method or keepalive has been configured
    keepalive: Placed[int] | None = None
    keepalive_active: bool = False  # a later balancing method disables keepalive, as in nginx
    backup_allowed: bool = True  # nginx's NGX_HTTP_UPSTREAM_BACKUP flag, cleared by the hash methods
    hash_key: Template | None = None
    zone: str | None = None


@dataclass
class ListenOptions:
    """One address of a `listen` directive with its parameters (ngx_http_listen_opt_t)."""

    address: SocketAddress
    place: Place | None
    default_server: bool = False
    ssl: bool = False
    http2: bool = False
    reuseport: bool = False
    backlog: int = NGX_LISTEN_BACKLOG
    bind: bool = False
    ipv6only: bool = True
    set: bool = False  # a parameter that applies to the socket was given
    proxy_protocol: bool = False
    socket: SocketOptions = NO_OPTIONS
    deferred: bool = False


@dataclass
class AddressState:
    """The servers listening on one address:port (ngx_http_conf_addr_t)."""

    options: ListenOptions
    servers: list[ServerState]
    default_server: ServerState


@dataclass
class PortState:
    family: int
    port: int
    addresses: list[AddressState] = field(default_factory=list)


@dataclass
class ProxyPassState:
    url: str
    scheme: str  # "" with variables
    upstream: UpstreamState | None  # None with variables
    uri: str | None
    template: Template | None = None  # the URL, when it has variables


@dataclass
class IfState:
    """An `if` as read: its condition and its block, whose own directives are `location.rewrite`."""

    condition: Condition
    location: LocationState
    in_server: bool
    place: Place


RewriteProgram = list[Rewrite | Return | SetVariable | Break | IfState]


@dataclass
class LocationState:
    place: Place
    match: LocationMatch
    name: str
    pattern: re.Pattern[str] | None
    level: Level
    proxy_pass: Placed[ProxyPassState] | None = None
    locations: list[LocationState] = field(default_factory=list)
    rewrite: RewriteProgram = field(default_factory=list)
    parent: LocationState | None = None  # the location an `if` (or a `limit_except`) is in
    limit_except: int = 0  # the methods (model.http.METHOD_BITS) its `limit_except` block applies to


@dataclass
class ServerState:
    place: Place
    level: Level
    listens: list[ListenOptions] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    captures: bool = False  # a regular expression server name has groups
    locations: list[LocationState] = field(default_factory=list)
    rewrite: RewriteProgram = field(default_factory=list)


@dataclass
class HttpState:
    place: Place
    level: Level
    variables: VariableUses
    log_formats: dict[str, LogFormat]
    upstreams: list[UpstreamState] = field(default_factory=list)
    servers: list[ServerState] = field(default_factory=list)
    ports: list[PortState] = field(default_factory=list)
    made_variables: list[MadeVariable] = field(default_factory=list)  # `map`, `split_clients`
    health_checks: list[HealthCheckState] = field(default_factory=list)  # hapair's extension
    matches: dict[str, Match] = field(default_factory=dict)


@dataclass
class StreamListenState:
    address: SocketAddress
    place: Place
    reuseport: bool = False
    backlog: int = NGX_LISTEN_BACKLOG
    bind: bool = False
    ipv6only: bool = True
    udp: bool = False
    proxy_protocol: bool = False
    ssl: bool = False
    socket: SocketOptions = NO_OPTIONS
    backlog_given: bool = False


@dataclass
class StreamServerState:
    place: Place
    level: Level
    listens: list[StreamListenState] = field(default_factory=list)
    proxy_pass: Placed[UpstreamState | Template] | None = None  # a Template: the value has variables
    sets: list[SetVariable] = field(default_factory=list)  # `set`, in order
    ssl_listen: Place | None = None  # the last `listen ... ssl` (nginx's sslcf->file and line)


@dataclass
class StreamState:
    place: Place
    level: Level
    variables: VariableUses
    log_formats: dict[str, LogFormat] = field(default_factory=dict)
    upstreams: list[UpstreamState] = field(default_factory=list)
    servers: list[StreamServerState] = field(default_factory=list)
    listens: list[StreamListenState] = field(default_factory=list)
    made_variables: list[MadeVariable] = field(default_factory=list)  # `map`, `split_clients`
    health_checks: list[HealthCheckState] = field(default_factory=list)  # hapair's extension
    matches: dict[str, Match] = field(default_factory=dict)


@dataclass
class HealthCheckState:
    """A `health_check` line as read: its parameters, the match it names, and where it is (the group is
    the location's or stream server's `proxy_pass`, known once the block ends)."""

    place: Place
    interval_ms: int = DEFAULT_INTERVAL_MS
    jitter_ms: int = 0
    fails: int = DEFAULT_FAILS
    passes: int = DEFAULT_PASSES
    uri: str = DEFAULT_URI
    port: int = 0
    match_name: str | None = None
    mandatory: bool = False
    persistent: bool = False
    location: LocationState | None = None
    stream_server: StreamServerState | None = None


@dataclass
class SharedZone:
    """A shared memory zone (ngx_shm_zone_t): its size, 0 until a directive gives one, and the module that
    uses it (one name cannot serve two modules); `data` is what the module's zone directive made of it
    (None until one did)."""

    size: int
    tag: str
    data: object | None = None


DEFAULT_THREAD_POOL = "default"  # the pool `aio threads` names when it names none
DEFAULT_POOL_THREADS = 32  # the `default` pool's threads when no `thread_pool` defines it
THREAD_POOL_MAX_QUEUE = 65536  # `thread_pool`'s max_queue when it gives none


@dataclass
class MainState:
    """The main context (ngx_core_conf_t, ngx_event_conf_t and the cycle's lists). `level` holds the values
    of the core and events directives set by a slot handler (`daemon`, `worker_rlimit_nofile`...)."""

    paths: Paths
    system: System
    level: Level = field(default_factory=Level)
    worker_processes: Placed[int] | None = None
    worker_processes_auto: bool = False
    pid: Placed[str] | None = None
    user: Placed[WorkerUser] | None = None  # None also when the master is not root (nginx ignores it)
    worker_user: WorkerUser | None = None  # once read: `user`, or nobody:nogroup for a root master
    worker_priority: Placed[int] | None = None
    cpu_affinity: Placed[CpuAffinity] | None = None
    environment: list[str] = field(default_factory=list)
    error_logs: list[ErrorLog] = field(default_factory=list)
    events: Place | None = None
    worker_connections: Placed[int] | None = None
    event_method: Placed[str] | None = None  # `use`
    stream_loaded: Place | None = None
    modules_used: bool = False  # a block has counted the modules: `load_module` is too late
    http: HttpState | None = None
    stream: StreamState | None = None
    http_config: HttpConfig | None = None  # the model of the http block, made when the block ends
    stream_config: StreamConfig | None = None
    open_files: list[OpenFile] = field(default_factory=list)
    listening: list[Listening] = field(default_factory=list)
    shared_zones: dict[str, SharedZone] = field(default_factory=dict)  # by name, in declaration order
    # ngx_thread_pool_add's list: each pool named, by `thread_pool` (threads > 0) or by `aio threads=NAME`
    # first (threads 0 until a `thread_pool` defines it), with where it was first named
    thread_pools: dict[str, tuple[int, int, Place]] = field(default_factory=dict)

    def open_file(self, path: str, origin: Place | None) -> OpenFile:
        """Register a file to open once reading ends (ngx_conf_open_file: each path once)."""
        for opened in self.open_files:
            if opened.path == path:
                return opened
        opened = OpenFile(path, origin)
        self.open_files.append(opened)
        return opened
