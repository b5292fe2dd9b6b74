"""The main context: `worker_processes`, `pid`, `error_log`, `events`, `worker_connections`,
`load_module`, how the processes run (`daemon`, `user`, `worker_*`, `env`...), and nginx's defaults for
them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.config import CpuAffinity, Processes, WorkerUser
from hapair.config.nginx.model.logging import ErrorLevel, ErrorLog
from hapair.config.nginx.model.place import Place

from .conftest import LabSystem, Read, config, error


def test_defaults_are_nginx_defaults(read: Read) -> None:
    model = config(read("events {}\n"))
    assert (model.worker_processes, model.worker_processes_auto, model.worker_connections, model.pid) == (
        1,
        False,
        512,
        "/run/nginx.pid",
    )
    assert model.error_logs == (ErrorLog("stderr", ErrorLevel.ERROR, (), None),)


def test_worker_processes_takes_a_number(read: Read) -> None:
    assert config(read("worker_processes 8;\nevents {}\n")).worker_processes == 8


def test_worker_processes_auto_is_the_number_of_cpus(read: Read) -> None:
    model = config(read("worker_processes auto;\nevents {}\n"))
    assert (model.worker_processes, model.worker_processes_auto) == (4, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("worker_processes many;", '"worker_processes" directive invalid value'),
        ("worker_processes Auto;", '"worker_processes" directive invalid value'),
        ("worker_processes 1;\nworker_processes 2;", '"worker_processes" directive is duplicate'),
        ("pid a.pid;\npid b.pid;", '"pid" directive is duplicate'),
        ("events { worker_connections lots; }", 'invalid number "lots"'),
        (
            "events { worker_connections 1; worker_connections 2; }",
            '"worker_connections" directive is duplicate',
        ),
        ("events {}\nevents {}", '"events" directive is duplicate'),
        ("events { use select; }", 'invalid event type "select"'),
    ],
)
def test_main_context_errors(read: Read, text: str, message: str) -> None:
    assert error(read(text)).startswith(f"nginx: [emerg] {message} in ")


def test_main_directives_record_where_they_are(read: Read, conf_dir: Path) -> None:
    model = config(read("worker_processes 2;\n\nevents {\nworker_connections 64;\n}\n"))
    assert model.defined == {
        "worker_processes": Place(f"{conf_dir}/nginx.conf", 1),
        "events": Place(f"{conf_dir}/nginx.conf", 3),
        "worker_connections": Place(f"{conf_dir}/nginx.conf", 4),
    }


def test_pid_is_relative_to_the_prefix(read: Read, conf_dir: Path) -> None:
    assert config(read("pid run/lb.pid;\nevents {}\n")).pid == f"{conf_dir}/run/lb.pid"


def test_worker_connections_is_read_in_events(read: Read) -> None:
    assert config(read("events { worker_connections 1024; }\n")).worker_connections == 1024


def test_error_log_takes_a_file_relative_to_the_prefix_and_a_level(read: Read, conf_dir: Path) -> None:
    model = config(read("error_log logs/error.log warn;\nevents {}\n"))
    assert model.error_logs == (
        ErrorLog(f"{conf_dir}/logs/error.log", ErrorLevel.WARN, (), Place(f"{conf_dir}/nginx.conf", 1)),
    )


def test_error_log_may_be_stderr_and_repeated(read: Read) -> None:
    model = config(read("error_log stderr;\nerror_log logs/e.log info;\nevents {}\n"))
    assert [(log.target.rsplit("/", 1)[-1], log.level) for log in model.error_logs] == [
        ("stderr", ErrorLevel.ERROR),
        ("e.log", ErrorLevel.INFO),
    ]


def test_error_log_debug_takes_every_debug_kind(read: Read) -> None:
    (log,) = config(read("error_log logs/e.log debug;\nevents {}\n")).error_logs
    assert (log.level, "debug_http" in log.debug) == (ErrorLevel.DEBUG, True)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ("loud", 'invalid log level "loud"'),
        ("warn error", 'duplicate log level "error"'),
        ("debug_http warn", 'duplicate log level "warn"'),
        ("warn debug_http", 'invalid log level "debug_http"'),
    ],
)
def test_error_log_level_errors(read: Read, levels: str, message: str) -> None:
    assert error(read(f"error_log logs/e.log {levels};\nevents {{}}\n")).startswith(
        f"nginx: [emerg] {message} in "
    )


def test_error_log_to_memory_is_not_supported(read: Read) -> None:
    assert 'hapair does not support "memory:" logging in the "error_log" directive' in error(
        read("error_log memory:32m;\nevents {}\n")
    )


def test_load_module_names_the_stream_module(read: Read, conf_dir: Path) -> None:
    (conf_dir / "modules").mkdir()
    (conf_dir / "modules" / "ngx_stream_module.so").write_bytes(b"")
    model = config(read("load_module modules/ngx_stream_module.so;\nevents {}\n"))
    assert model.defined["load_module"] == Place(f"{conf_dir}/nginx.conf", 1)


def test_load_module_of_a_missing_file_fails_as_dlopen(read: Read, conf_dir: Path) -> None:
    path = f"{conf_dir}/modules/x.so"
    assert error(read("load_module modules/x.so;\n")) == (
        f'nginx: [emerg] dlopen() "{path}" failed ({path}: cannot open shared object file: '
        f"No such file or directory) in {conf_dir}/nginx.conf:1"
    )


def test_load_module_of_another_module_is_not_supported(read: Read, conf_dir: Path) -> None:
    (conf_dir / "geoip.so").write_bytes(b"")
    assert f'hapair does not support the module "{conf_dir}/geoip.so"' in error(
        read("load_module geoip.so;\n")
    )


def test_load_module_after_a_block_is_too_late(read: Read, conf_dir: Path) -> None:
    (conf_dir / "ngx_stream_module.so").write_bytes(b"")
    assert error(read("events {}\nload_module ngx_stream_module.so;\n")).startswith(
        'nginx: [emerg] "load_module" directive is specified too late in '
    )


def test_load_module_twice_is_already_loaded(read: Read, conf_dir: Path) -> None:
    (conf_dir / "ngx_stream_module.so").write_bytes(b"")
    text = "load_module ngx_stream_module.so;\nload_module ngx_stream_module.so;\n"
    assert error(read(text)).startswith('nginx: [emerg] module "ngx_stream_module" is already loaded in ')


def test_process_defaults_are_nginx_s(read: Read, conf_dir: Path) -> None:
    processes = config(read("events {}\n")).processes
    assert processes == Processes(
        daemon=True,
        master=True,
        user=WorkerUser("nobody", 65534, 65534),
        priority=0,
        cpu_affinity=None,
        rlimit_nofile=None,
        rlimit_core=None,
        shutdown_timeout_ms=0,
        working_directory=None,
        environment=(),
        lock_file="/var/lock/nginx.lock",
    )


def test_process_directives_are_read(read: Read, conf_dir: Path) -> None:
    text = """\
        daemon off;
        master_process OFF;
        user daemon adm;
        worker_priority -5;
        worker_processes 3;
        worker_cpu_affinity 0001 0010;
        worker_rlimit_nofile 4096;
        worker_rlimit_core 10m;
        worker_shutdown_timeout 1m;
        working_directory /var/tmp;
        env TZ=UTC;
        env HOME;
        lock_file run/lb.lock;
        pcre_jit on;
        events { use epoll; multi_accept on; accept_mutex off; accept_mutex_delay 100ms; }
    """
    processes = config(read(text)).processes
    assert processes == Processes(
        daemon=False,
        master=False,
        user=WorkerUser("daemon", 1, 4),
        priority=-5,
        cpu_affinity=CpuAffinity(False, (frozenset({0}), frozenset({1}))),
        rlimit_nofile=4096,
        rlimit_core=10 * 1024 * 1024,
        shutdown_timeout_ms=60_000,
        working_directory="/var/tmp",
        environment=("TZ=UTC", "HOME"),
        lock_file=f"{conf_dir}/run/lb.lock",
    )


def test_user_without_a_group_takes_the_group_of_its_name(read: Read) -> None:
    assert config(read("user www-data;\nevents {}\n")).processes.user == WorkerUser("www-data", 33, 33)
    assert 'getgrnam("nobody") failed' in error(read("user nobody;\nevents {}\n"))


def test_user_is_ignored_with_nginx_s_warning_when_the_master_is_not_root(read: Read, conf_dir: Path) -> None:
    result = read("user nosuchuser;\nuser other;\nevents {}\n", system=LabSystem(root=False))
    assert config(result).processes.user is None
    ignored = (
        'nginx: [warn] the "user" directive makes sense only if the master process runs with super-user '
        f"privileges, ignored in {conf_dir}/nginx.conf:"
    )
    assert [message.render() for message in result.reading] == [f"{ignored}1", f"{ignored}2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user nosuchuser;", 'getpwnam("nosuchuser") failed in '),
        ("user nobody nosuchgroup;", 'getgrnam("nosuchgroup") failed in '),
        ("user www-data;\nuser www-data;", '"user" directive is duplicate in '),
        ("worker_priority -5;\nworker_priority 3;", '"worker_priority" directive is duplicate in '),
        ("worker_priority x;", '"worker_priority" directive invalid number in '),
        ("worker_priority +-1;", '"worker_priority" directive invalid number in '),
        ("worker_cpu_affinity 0102;", 'invalid character "2" in "worker_cpu_affinity" in '),
        ("worker_cpu_affinity auto 01 10;", 'invalid number of arguments in "worker_cpu_affinity" directive'),
        ("worker_cpu_affinity 01;\nworker_cpu_affinity 10;", '"worker_cpu_affinity" directive is duplicate'),
        ("worker_rlimit_nofile x;", '"worker_rlimit_nofile" directive invalid number in '),
        ("worker_rlimit_core 1x;", '"worker_rlimit_core" directive invalid value in '),
        ("worker_shutdown_timeout 1x;", '"worker_shutdown_timeout" directive invalid value in '),
        ("lock_file a;\nlock_file b;", '"lock_file" directive is duplicate in '),
        ("daemon maybe;", 'invalid value "maybe" in "daemon" directive, it must be "on" or "off" in '),
        ("daemon on;\ndaemon on;", '"daemon" directive is duplicate in '),
        ("pcre_jit maybe;", 'invalid value "maybe" in "pcre_jit" directive, it must be "on" or "off" in '),
        ("events { use kqueue; }", 'invalid event type "kqueue" in '),
        ("events { use epoll; use epoll; }", '"use" directive is duplicate in '),
        ("events { use event_core; }", 'invalid event type "event_core" in '),
        ("events { multi_accept maybe; }", 'invalid value "maybe" in "multi_accept" directive, it must be'),
        ("events { accept_mutex_delay 1x; }", '"accept_mutex_delay" directive invalid value in '),
    ],
)
def test_process_directive_errors(read: Read, text: str, message: str) -> None:
    assert error(read(f"{text}\nevents {{}}\n" if "events" not in text else text)).startswith(
        f"nginx: [emerg] {message}"
    )


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("events { multi_accept off; }", 'hapair does not support "off" in the "multi_accept" directive'),
        ("events { accept_mutex on; }", 'hapair does not support "on" in the "accept_mutex" directive'),
        ("timer_resolution 100ms;\nevents {}", 'hapair does not support the "timer_resolution" directive'),
        ("debug_points stop;\nevents {}", 'hapair does not support the "debug_points" directive'),
        ("ssl_engine x;\nevents {}", 'hapair does not support the "ssl_engine" directive'),
        ("events { debug_connection ::1; }", 'hapair does not support the "debug_connection" directive'),
        ("events { epoll_events 512; }", 'hapair does not support the "epoll_events" directive'),
        ("events { worker_aio_requests 32; }", 'hapair does not support the "worker_aio_requests" directive'),
    ],
)
def test_what_hapair_does_not_do_is_refused_by_name(read: Read, text: str, refusal: str) -> None:
    assert refusal in error(read(text))


def test_a_second_priority_after_zero_is_no_duplicate(read: Read) -> None:
    assert config(read("worker_priority 0;\nworker_priority 3;\nevents {}\n")).processes.priority == 3


def test_cpu_affinity_masks_per_worker_the_last_repeating(read: Read) -> None:
    affinity = config(read("worker_cpu_affinity 0101 1 0;\nevents {}\n")).processes.cpu_affinity
    assert affinity is not None
    assert [affinity.for_worker(n) for n in range(4)] == [
        frozenset({0, 2}),
        frozenset({0}),
        frozenset(),
        frozenset(),
    ]


def test_cpu_affinity_auto_binds_each_worker_to_the_next_cpu(read: Read) -> None:
    auto = config(read("worker_cpu_affinity auto;\nevents {}\n")).processes.cpu_affinity
    among = config(read("worker_cpu_affinity auto 1010;\nevents {}\n")).processes.cpu_affinity
    assert auto is not None and among is not None
    assert [auto.for_worker(n) for n in range(5)] == [frozenset({n % 4}) for n in range(5)]  # 4 CPUs
    assert [among.for_worker(n) for n in range(3)] == [frozenset({1}), frozenset({3}), frozenset({1})]


def test_cpu_affinity_masks_not_one_per_worker_are_warned_about_after_reading(read: Read) -> None:
    result = read("worker_processes 3;\nworker_cpu_affinity 01 10;\nevents {}\n")
    assert [message.render() for message in result.starting] == [
        'nginx: [warn] the number of "worker_processes" is not equal to the number of "worker_cpu_affinity" '
        "masks, using last mask for remaining worker processes"
    ]


def test_env_keeps_its_order_and_values_with_equals(read: Read) -> None:
    environment = config(read("env A=b=c;\nenv A;\nevents {}\n")).processes.environment
    assert environment == ("A=b=c", "A")


def test_the_default_user_must_exist(read: Read) -> None:
    system = LabSystem()
    system.users.pop("nobody")
    assert error(read("events {}\n", system=system)) == 'nginx: [emerg] getpwnam("nobody") failed'


def test_more_connections_than_open_files_is_warned_about_in_the_main_error_log(read: Read) -> None:
    system = LabSystem(file_limit=1024)
    result = read("events { worker_connections 2048; }\n", system=system, test=True)
    assert [message.render() for message in result.logged] == [
        "nginx: [warn] 2048 worker_connections exceed open file resource limit: 1024"
    ]
    limited = "worker_rlimit_nofile 4096;\nevents { worker_connections 2048; }\n"
    assert read(limited, system=system, test=True).logged == ()


def test_the_main_directives_given_are_recorded(read: Read, conf_dir: Path) -> None:
    model = config(read("daemon off;\nenv A;\nuser www-data;\nevents { use epoll; }\n"))
    assert {name: place.line for name, place in model.defined.items()} == {
        "daemon": 1,
        "user": 3,
        "events": 4,
        "use": 4,
    }
