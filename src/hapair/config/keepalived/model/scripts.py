"""Model: a command keepalived runs (notify, vrrp_script, checker and start/stop scripts)."""

from __future__ import annotations

from dataclasses import dataclass

# Flags keepalived's script checks set (lib/notify.h SC_*).
SC_ISSCRIPT = 0x01  # the command is a script file that was found
SC_INHIBIT = 0x02  # must not be run: insecure under script security, or wrong file type
SC_NOTFOUND = 0x04  # the script cannot be found
SC_EXECUTABLE = 0x08  # the script is executable by its user
SC_INSECURE = 0x10  # some part of its path is writable by non-root
SC_SYSTEM = 0x20  # run through /bin/sh -c (e.g. "</dev/tcp/…")
SC_EXECABLE = 0x40  # can be execve()d directly


@dataclass
class NotifyScript:
    """`args[0]` is the program, the rest its arguments; it runs as `uid`:`gid`."""

    args: list[str]
    uid: int
    gid: int
    flags: int = 0

    @property
    def command(self) -> str:
        return " ".join(self.args)


def script_text(script: NotifyScript | None) -> str:
    """A script as keepalived's messages show it (`cmd_str`): each argument in single quotes, except a
    first one that is a shell redirection."""
    if script is None:
        return ""
    return " ".join(f"'{arg}'" if i or arg[:1] not in "<>" else arg for i, arg in enumerate(script.args))
