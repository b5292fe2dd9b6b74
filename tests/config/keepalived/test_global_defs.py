"""global_defs and the process-wide top-level keywords, as keepalived 2.2.7's parent reads them
(keepalived/core/global_parser.c), and the defaults it derives afterwards (`init_global_data`)."""

from __future__ import annotations

import stat
from ipaddress import IPv4Address, IPv6Address

import pytest

from hapair.config.keepalived.diagnostics import Severity
from hapair.config.keepalived.host import FileStatus, User
from hapair.config.keepalived.model.global_defs import (
    GlobalDefs,
    LvsFlushOnStop,
    RxBufsPolicy,
)

from .conftest import ReadConfig, errors, lab_host, rendered

DIRECTORY = stat.S_IFDIR | 0o755


def global_defs(body: str) -> str:
    return "global_defs {\n" + body + "\n}\n"


# -- defaults -------------------------------------------------------------------------------------------


def test_defaults_are_keepalived_defaults() -> None:
    defs = GlobalDefs()
    assert defs.vrrp_mcast_group4 == IPv4Address("224.0.0.18")
    assert defs.vrrp_mcast_group6 == IPv6Address("ff02::12")
    assert (defs.vrrp_garp_rep, defs.vrrp_garp_delay_us) == (5, 5_000_000)
    assert (defs.vrrp_garp_refresh_us, defs.vrrp_garp_refresh_rep) == (0, 1)
    assert defs.vrrp_garp_lower_prio_delay_us is None and defs.vrrp_garp_lower_prio_rep is None
    assert defs.vrrp_down_timer_adverts == 3
    assert defs.vrrp_version == 2
    assert defs.vrrp_nf_chain_priority == -1
    assert defs.vrrp_rx_bufs_multiplier == 3
    assert defs.min_auto_priority_delay_us == 1_000_000
    assert defs.vrrp_process.rlimit_rttime_us == defs.bfd_process.rlimit_rttime_us == 10_000
    assert defs.smtp_alert is None and defs.lvs_syncd.sync_id is None


def test_an_empty_configuration_gets_the_host_name_as_router_id(read_config: ReadConfig) -> None:
    result = read_config("")
    defs = result.config.global_defs
    assert defs.router_id == "node1.example"
    assert defs.local_name == "node1.example"
    assert defs.email_from is None and defs.smtp_helo_name is None
    assert result.exit_status == 0


# -- values ---------------------------------------------------------------------------------------------


def test_a_full_global_defs_block_fills_the_model(read_config: ReadConfig) -> None:
    result = read_config(
        global_defs(
            """
            router_id LVS_1
            notification_email {
              admin@example.com
              ops@example.com
            }
            notification_email_from keepalived@example.com
            smtp_server 192.0.2.25 2525
            smtp_connect_timeout 20
            smtp_alert off
            vrrp_garp_master_delay 10
            vrrp_garp_master_repeat 3
            vrrp_garp_master_refresh 60
            vrrp_garp_lower_prio_repeat 2
            vrrp_garp_interval 0.001
            vrrp_gna_interval 0.000250
            vrrp_version 3
            vrrp_strict
            vrrp_skip_check_adv_addr
            vrrp_mcast_group4 224.0.0.20
            vrrp_mcast_group6 ff02::20
            vrrp_lower_prio_no_advert
            vrrp_higher_prio_send_advert false
            default_interface eth1
            dynamic_interfaces allow_if_changes
            max_auto_priority 50
            vrrp_priority -10
            vrrp_no_swap
            vrrp_rt_priority 20
            checker_process_name kl_check
            nftables
            nftables_counters
            lvs_timeouts tcp 900 tcpfin 120 udp 300
            lvs_flush_on_stop VS
            vrrp_startup_delay 5.5
            vrrp_rx_bufs_policy MTU
            umask 027
            enable_snmp_rfc
            snmp_socket tcp:localhost:705
            data_use_instance
            """
        )
    )
    defs = result.config.global_defs
    assert errors(result) == []
    assert defs.router_id == "LVS_1"
    assert defs.email == ["admin@example.com", "ops@example.com"]
    assert defs.email_from == "keepalived@example.com"
    assert (defs.smtp_server, defs.smtp_port) == (IPv4Address("192.0.2.25"), 2525)
    assert defs.smtp_connection_timeout_us == 20_000_000
    assert defs.smtp_alert is False
    assert (defs.vrrp_garp_delay_us, defs.vrrp_garp_rep) == (10_000_000, 3)
    assert defs.vrrp_garp_refresh_us == 60_000_000
    assert defs.vrrp_garp_lower_prio_rep == 2
    assert (defs.vrrp_garp_interval_us, defs.vrrp_gna_interval_us) == (1000, 250)
    assert defs.vrrp_version == 3
    assert defs.vrrp_strict and defs.vrrp_skip_check_adv_addr
    assert defs.vrrp_mcast_group4 == IPv4Address("224.0.0.20")
    assert defs.vrrp_mcast_group6 == IPv6Address("ff02::20")
    assert defs.vrrp_lower_prio_no_advert and not defs.vrrp_higher_prio_send_advert
    assert defs.default_interface == "eth1"
    assert defs.dynamic_interfaces and defs.allow_if_changes
    assert defs.max_auto_priority == 50
    assert (defs.vrrp_process.priority, defs.vrrp_process.no_swap) == (-10, True)
    assert defs.vrrp_process.realtime_priority == 20
    assert defs.checker_process.name == "kl_check"
    assert (defs.vrrp_nf_table_name, defs.vrrp_nf_chain_priority, defs.nf_counters) == (
        "keepalived",
        -1,
        True,
    )
    assert (defs.lvs_timeouts.tcp_us, defs.lvs_timeouts.tcp_fin_us, defs.lvs_timeouts.udp_us) == (
        900_000_000,
        120_000_000,
        300_000_000,
    )
    assert defs.lvs_flush_on_stop is LvsFlushOnStop.VS
    assert defs.vrrp_startup_delay_us == 5_500_000
    assert defs.vrrp_rx_bufs_policy is RxBufsPolicy.MTU
    assert defs.umask == 0o027
    assert defs.enable_snmp_rfcv2 and defs.enable_snmp_rfcv3
    assert defs.snmp_socket == "tcp:localhost:705"
    assert defs.data_use_instance


def test_top_level_process_keywords(read_config: ReadConfig) -> None:
    host = lab_host()
    host.namespaces = {"blue": lab_host()}
    result = read_config(
        host=host,
        text="""
        net_namespace blue
        net_namespace red
        net_namespace_ipvs
        instance
        instance one
        child_wait_time 7
        linkbeat_use_polling
        namespace_with_ipsets
        """,
    )
    defs = result.config.global_defs
    assert errors(result) == [
        "Duplicate net_namespace definition red - ignoring",
        "instance name missing - ignoring",
    ]
    assert (defs.network_namespace, defs.network_namespace_ipvs, defs.instance_name) == ("blue", "", "one")
    assert defs.use_pid_dir
    assert defs.child_wait_time_us == 7_000_000
    assert defs.linkbeat_use_polling and defs.namespace_with_ipsets
    assert defs.reload_file is None


# -- messages, as keepalived 2.2.7 prints them ------------------------------------------------------


def test_vrrp_garp_interval_zero_is_rejected_as_by_keepalived_2_2_7(read_config: ReadConfig) -> None:
    result = read_config(global_defs("vrrp_garp_interval 0\nvrrp_gna_interval 0"))
    assert rendered(result) == [
        "(keepalived.conf: Line 2) number '0' outside range [0.000001, 4294.967295]",
        "(keepalived.conf: Line 2) vrrp_garp_interval '0' is invalid",
        "(keepalived.conf: Line 3) number '0' outside range [0.000001, 4294.967295]",
        "(keepalived.conf: Line 3) vrrp_gna_interval '0' is invalid",
    ]
    assert result.config.global_defs.vrrp_garp_interval_us == 0
    assert result.exit_status == 5


def test_a_large_garp_interval_is_logged(read_config: ReadConfig) -> None:
    result = read_config(global_defs("vrrp_garp_interval 1.5"))
    assert [(d.message, d.log) for d in result.report] == [
        ("The vrrp_garp_interval is very large - 1.5 seconds", True)
    ]
    assert result.exit_status == 0


def test_zero_repeats_and_timeouts_become_one_with_keepalived_s_typo(read_config: ReadConfig) -> None:
    result = read_config(global_defs("smtp_connect_timeout 0\nvrrp_garp_master_repeat 0"))
    assert errors(result) == [
        "smtp_conect_timeout must be greater than 0, setting to 1",
        "vrrp_garp_master_repeat must be greater than 0, setting to 1",
    ]
    assert result.config.global_defs.smtp_connection_timeout_us == 1_000_000
    assert result.config.global_defs.vrrp_garp_rep == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("router_id", ["routerid name missing - ignoring"]),
        ("notification_email_from", ["emailfrom missing - ignoring"]),
        ("smtp_alert maybe", ["Invalid value 'maybe' for global smtp_alert specified"]),
        ("data_use_instance x", ["Invalid value 'x' for global date_use_instance specified"]),
        ("checker_log_all_failures x", ["Invalid value for checker_log_all_failures specified"]),
        ("vrrp_version 4", ["number '4' outside range [2, 3]", "VRRP Error: Version must be either 2 or 3"]),
        (
            "max_auto_priority 100",
            [
                "number '100' outside range [-1, 99]",
                "max_auto_priority '100' must be in [0, 99] (or -1 to disable) - ignoring",
            ],
        ),
        ("vrrp_mcast_group4 10.0.0.1", ["vrrp_mcast_group4 [10.0.0.1] is not multicast. Skipping"]),
        ("vrrp_mcast_group4 ff02::1", ["vrrp_mcast_group4 [ff02::1] is not IPv4. Skipping"]),
        ("vrrp_mcast_group6 zz::1", ["Can't parse vrrp_mcast_group6 [zz::1]. Skipping"]),
        ("vrrp_garp_extra_if all", ["vrrp_garp_extra_if specified without time - ignoring"]),
        (
            "vrrp_iptables",
            [
                "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and "
                "'vrrp_ipsets' with 'nftables' config option"
            ],
        ),
        ("vrrp_ipsets", ["Unknown keyword 'vrrp_ipsets'"]),
        ("nftables_priority x", ["invalid number 'x'", "invalid nftables chain priority 'x'"]),
        (
            "process_name averyveryverylongname",
            ["Process name averyveryverylongname more than 15 characters, truncating"],
        ),
        ("lvs_timeouts tcp", ["lvs_timeouts requires at least one option"]),
        ("lvs_flush_on_stop all", ["Unknown lvs_flush_on_stop type all"]),
        (
            "vrrp_rx_bufs_policy MTU ADVERT",
            ["Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT"],
        ),
        ("vrrp_rx_bufs_multiplier 1 2", ["Invalid vrrp_rx_bufs_multiplier"]),
        ("snmp_socket a b", ["Too many parameters specified for snmp_socket - ignoring"]),
        ("reload_time_file", ["reload_time_file invalid"]),
        ("tmp_config_directory", ["tmp_config_directory missing directory name"]),
        ("script_user", ["No script username specified"]),
        ("script_user nosuch", ["Error setting global script uid/gid"]),
        ("startup_script", ["startup script missing"]),
        (
            "shutdown_script_timeout 0",
            [
                "number '0' outside range [1, 1000]",
                "shutdown_script_timeout '0' must be in [1, 1000] - ignoring",
            ],
        ),
        ("random_seed x", ["invalid number 'x'", "random_seed x invalid"]),
        ("notification_email {\n}", ["Warning - empty notification_email block"]),
    ],
)
def test_keyword_errors_have_keepalived_s_messages(
    read_config: ReadConfig, line: str, expected: list[str]
) -> None:
    assert errors(read_config(global_defs(line))) == expected


def test_a_deprecated_vmac_keyword_is_reported_as_deprecated(read_config: ReadConfig) -> None:
    result = read_config(global_defs("vrrp_vmac_garp_intvl all 10"))
    assert [(d.severity, d.message) for d in result.report] == [
        (
            Severity.DEPRECATED,
            'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"',
        )
    ]
    defs = result.config.global_defs
    assert (defs.vrrp_garp_extra_if_interval_us, defs.vrrp_garp_extra_if_all) == (10_000_000, True)


def test_mcast_group6_should_be_link_local_is_a_warning(read_config: ReadConfig) -> None:
    result = read_config(global_defs("vrrp_mcast_group6 ff05::1"))
    assert [(d.severity, d.message) for d in result.report] == [
        (Severity.WARNING, "vrrp_mcast_group6 [ff05::1] should be link-local multicast.")
    ]
    assert result.config.global_defs.vrrp_mcast_group6 == IPv6Address("ff05::1")


def test_a_keyword_missing_its_parameter_stops_the_read(read_config: ReadConfig) -> None:
    result = read_config(global_defs("vrrp_garp_master_delay\nrouter_id never"))
    assert errors(result) == [
        "*** Configuration line starting `vrrp_garp_master_delay` is missing a parameter after keyword "
        "`vrrp_garp_master_delay` at word position 2"
    ]
    assert result.exit_status == 2


def test_only_the_parent_reads_global_defs_so_messages_come_once(read_config: ReadConfig) -> None:
    result = read_config(global_defs("bogus\nrouter_id"))
    assert rendered(result) == [
        "(keepalived.conf: Line 2) Unknown keyword 'bogus'",
        "(keepalived.conf: Line 3) routerid name missing - ignoring",
    ]


# -- SMTP ---------------------------------------------------------------------------------------------


def test_smtp_server_defaults_sender_helo_and_timeout_from_the_host(read_config: ReadConfig) -> None:
    defs = read_config(global_defs("smtp_server 2001:db8::25")).config.global_defs
    assert (defs.smtp_server, defs.smtp_port) == (IPv6Address("2001:db8::25"), 25)
    assert defs.email_from == "root@node1.example"
    assert defs.smtp_helo_name == "node1.example"
    assert defs.smtp_connection_timeout_us == 30_000_000


def test_smtp_server_names_are_resolved_through_the_host(read_config: ReadConfig) -> None:
    host = lab_host(addresses={"mail.example": "192.0.2.7"})
    result = read_config(global_defs("smtp_server mail.example\nsmtp_server relay-1.example 587"), host=host)
    assert errors(result) == ["Invalid smtp server relay-1.example 587"]
    assert result.config.global_defs.smtp_server is None


def test_smtp_server_bad_port_is_reported_by_both_lookups(read_config: ReadConfig) -> None:
    result = read_config(global_defs("smtp_server 192.0.2.1 99999"))
    assert errors(result) == [
        "number '99999' outside range [1, 65535]",
        "Invalid smtp server 192.0.2.1 99999",
    ]


# -- LVS sync daemon, notify FIFOs, scheduling -------------------------------------------------------


def test_lvs_sync_daemon_keywords_and_the_old_positional_form(read_config: ReadConfig) -> None:
    result = read_config(global_defs("lvs_sync_daemon eth0 VI_1 12 maxlen 1400 group 224.0.0.81 ttl"))
    syncd = result.config.global_defs.lvs_syncd
    assert errors(result) == [
        'Please use keyword "id" before lvs_sync_daemon SYNCID',
        "No value specified for lvs_sync_daemon ttl - ignoring",
    ]
    assert (syncd.interface, syncd.vrrp_instance, syncd.sync_id) == ("eth0", "VI_1", 12)
    assert (syncd.max_length, syncd.multicast_group) == (1400, IPv4Address("224.0.0.81"))


def test_lvs_sync_daemon_only_once(read_config: ReadConfig) -> None:
    result = read_config(global_defs("lvs_sync_daemon eth0\nlvs_sync_daemon eth1 inst VI_2"))
    assert errors(result) == ["lvs_sync_daemon has already been specified as eth0  - ignoring"]


def test_notify_fifos_take_the_default_script_user(read_config: ReadConfig) -> None:
    host = lab_host(
        users={"root": User("root", 0, 0), "keepalived_script": User("keepalived_script", 990, 991)}
    )
    result = read_config(
        global_defs(
            "notify_fifo /run/ka.fifo\nvrrp_notify_fifo /run/vrrp.fifo root\n"
            'vrrp_notify_fifo_script "/usr/local/bin/fifo-reader -v"\nnotify_fifo /run/other'
        ),
        host=host,
    )
    defs = result.config.global_defs
    assert errors(result) == ["notify_fifo already specified - ignoring /run/other"]
    assert (defs.notify_fifo.name, defs.notify_fifo.uid, defs.notify_fifo.gid) == ("/run/ka.fifo", 990, 991)
    assert (defs.vrrp_notify_fifo.uid, defs.vrrp_notify_fifo.gid) == (0, 0)
    assert defs.vrrp_notify_fifo.script is not None
    assert defs.vrrp_notify_fifo.script.args == ["/usr/local/bin/fifo-reader", "-v"]


def test_cpu_affinity_is_checked_against_the_host_cpus(read_config: ReadConfig) -> None:
    result = read_config(
        global_defs("vrrp_cpu_affinity 0 3\nchecker_cpu_affinity 4\nbfd_cpu_affinity 1 x"),
        host=lab_host(cpus=4),
    )
    defs = result.config.global_defs
    assert errors(result) == [
        "number '4' outside range [0, 3]",
        "Invalid cpu_id:4 specified for checker process",
        "invalid number 'x'",
        "Invalid cpu_id:0 specified for bfd process",
    ]
    assert (defs.vrrp_process.cpu_affinity, defs.checker_process.cpu_affinity) == ([0, 3], [])
    assert defs.bfd_process.cpu_affinity == []


def test_realtime_priority_is_clamped_and_rlimit_rtime_is_deprecated(read_config: ReadConfig) -> None:
    result = read_config(global_defs("vrrp_rt_priority 150\nbfd_rlimit_rtime 1"))
    defs = result.config.global_defs
    assert [(d.message, d.log) for d in result.report] == [
        ("vrrp process real-time priority 150 greater than maximum 99 - setting to maximum", False),
        ("Keyword 'bfd_rlimit_rtime' is deprecated - please use 'bfd_rlimit_rttime'", True),
    ]
    assert defs.vrrp_process.realtime_priority == 99
    assert defs.bfd_process.rlimit_rttime_us == 2


def test_disable_local_igmp_needs_the_kernel_setting(read_config: ReadConfig) -> None:
    result = read_config(global_defs("disable_local_igmp"))
    assert errors(result) == ["kernel does not support /proc/sys/net/ipv4/igmp_link_local_mcast_reports"]
    setting = {"/proc/sys/net/ipv4/igmp_link_local_mcast_reports": FileStatus(0o644, 0, 0)}
    assert read_config(
        global_defs("disable_local_igmp"), host=lab_host(files=setting)
    ).config.global_defs.disable_local_igmp


# -- umask, include_check, random_seed, directories -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "bits", "expected"),
    [
        ("0x12", 0o22, []),
        ("IRWXU", None, ["Unknown umask bit IRWXU"]),
        ("IWGRP|IWOTH", 0o22, []),
        ("IWGRP | IWOTH IXOTH", None, ["Invalid umask syntax IXOTH"]),
        ("IWGRP|", None, ["umask missing bit value"]),
        ("01000", None, ["invalid umask value 01000"]),
        ("022 x", None, ["Extra parameter(s) to umask option"]),
    ],
)
def test_umask_numbers_and_symbols(
    read_config: ReadConfig, value: str, bits: int | None, expected: list[str]
) -> None:
    result = read_config(global_defs(f"umask {value}"))
    assert errors(result) == expected
    assert result.config.global_defs.umask == bits


def test_include_check_makes_a_missing_include_an_error(read_config: ReadConfig) -> None:
    result = read_config(global_defs("include_check match") + "include missing.conf\n")
    assert [(d.severity, d.message) for d in result.report] == [
        (Severity.FILE_NOT_FOUND, "Config files missing 'missing.conf'.")
    ]


def test_include_check_words_set_add_and_remove(read_config: ReadConfig) -> None:
    result = read_config(
        global_defs("include_check read bogus\ninclude_check -read +wildcard_match +bogus")
        + "include none*.conf\n"
    )
    assert [(d.severity, d.message) for d in result.report] == [
        (Severity.GENERAL_ERROR, "Duplicate include_check 'bogus' specified - ignoring"),
        (Severity.GENERAL_ERROR, "Unknown include_check type 'bogus' - ignoring"),
        (Severity.FILE_NOT_FOUND, "No config files matched 'none*.conf'."),
    ]


def test_random_seed_makes_random_reproducible(read_config: ReadConfig) -> None:
    text = global_defs("random_seed 42\nrouter_id ${_RANDOM 1 1000000}")
    first = read_config(text).config.global_defs.router_id
    assert first == read_config(text).config.global_defs.router_id


def test_config_save_dir_must_be_a_directory_or_creatable(read_config: ReadConfig) -> None:
    files = {
        "/": FileStatus(DIRECTORY, 0, 0),
        "/var": FileStatus(DIRECTORY, 0, 0),
        "/etc/hosts": FileStatus(0o644, 0, 0),
    }
    result = read_config(
        global_defs("config_save_dir /etc/hosts\nconfig_save_dir /nope/x\nconfig_save_dir /var/ka/"),
        host=lab_host(files=files),
    )
    assert errors(result) == [
        "config_save_dir /etc/hosts exists and is not a directory",
        "Unable to create config_save_dir /nope/x (error 2 - No such file or directory)",
    ]
    assert result.config.global_defs.config_save_dir == "/var/ka"


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ("", "/run/keepalived.reload"),
        ("use_pid_dir", "/run/keepalived/keepalived.reload"),
        ("instance blue", "/run/keepalived/keepalived_blue.reload"),
    ],
)
def test_reload_file_without_a_name_gets_keepalived_s_default(
    read_config: ReadConfig, top: str, expected: str
) -> None:
    defs = read_config(global_defs("reload_file") + top + "\n").config.global_defs
    assert defs.reload_file == expected


# -- scripts ----------------------------------------------------------------------------------------------


def test_script_user_and_script_security_set_the_session(read_config: ReadConfig) -> None:
    host = lab_host(users={"root": User("root", 0, 0), "ka": User("ka", 500, 501)})
    result = read_config(global_defs("script_user ka\nenable_script_security"), host=host)
    assert errors(result) == []
    assert result.config.global_defs.script_security


def test_a_failing_script_user_is_logged_and_reported(read_config: ReadConfig) -> None:
    result = read_config(global_defs("script_user nosuch"))
    assert [(d.message, d.log) for d in result.report] == [
        ("Script user 'nosuch' does not exist", True),
        ("Error setting global script uid/gid", False),
    ]


def test_startup_script_defaults_its_timeout_and_is_read_once(read_config: ReadConfig) -> None:
    host = lab_host(files={"/etc/keepalived/up.sh": FileStatus(0o700, 0, 0)})
    result = read_config(
        global_defs(
            "enable_script_security\nstartup_script /etc/keepalived/up.sh root\n"
            "startup_script /etc/keepalived/other.sh\nshutdown_script_timeout 3"
        ),
        host=host,
    )
    defs = result.config.global_defs
    assert errors(result) == ["startup script already specified"]
    assert defs.startup_script is not None and defs.startup_script.args == ["/etc/keepalived/up.sh"]
    assert defs.startup_script_timeout_us == 10_000_000
    assert (defs.shutdown_script, defs.shutdown_script_timeout_us) == (None, 3_000_000)


def test_start_scripts_without_script_security_are_a_security_violation(read_config: ReadConfig) -> None:
    host = lab_host(files={"/etc/keepalived/up.sh": FileStatus(0o777, 0, 0)})
    result = read_config(global_defs("startup_script /etc/keepalived/up.sh"), host=host)
    assert [(d.severity, d.message) for d in result.report if not d.log] == [
        (
            Severity.SECURITY_ERROR,
            "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled. "
            "There are insecure scripts.",
        )
    ]
    assert "Unsafe permissions found for script '/etc/keepalived/up.sh'." in [
        d.message for d in result.report
    ]
    assert result.config.global_defs.startup_script is not None
    assert result.exit_status == 6


def test_start_scripts_that_cannot_run_are_dropped_without_a_violation(read_config: ReadConfig) -> None:
    result = read_config(global_defs("startup_script /etc/keepalived/missing.sh"))
    assert errors(result) == []
    assert "Script /etc/keepalived/missing.sh cannot be accessed - No such file or directory" in [
        d.message for d in result.report
    ]
    assert result.config.global_defs.startup_script is None
    assert result.exit_status == 0


def test_with_script_security_an_insecure_start_script_is_dropped(read_config: ReadConfig) -> None:
    host = lab_host(files={"/etc/keepalived/up.sh": FileStatus(0o757, 0, 0)})
    result = read_config(
        global_defs("enable_script_security\nstartup_script /etc/keepalived/up.sh root"), host=host
    )
    assert errors(result) == []
    assert [d.message for d in result.report if d.log] == [
        "Unsafe permissions found for script '/etc/keepalived/up.sh' - disabling."
    ]
    assert result.config.global_defs.startup_script is None


def test_a_shell_redirect_start_script_runs_through_the_shell(read_config: ReadConfig) -> None:
    result = read_config(global_defs('startup_script "</dev/tcp/127.0.0.1/80"'))
    assert errors(result) == []
    assert result.config.global_defs.startup_script is not None
