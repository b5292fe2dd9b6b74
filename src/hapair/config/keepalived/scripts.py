"""Script commands and the users they run as, as keepalived reads them (lib/notify.c).

A script keyword's line is re-split shell-like: its first word after the keyword is the command (split again
into program and arguments), the next two an optional user and group. Without a user, the default script
user applies: `script_user` from global_defs, else `keepalived_script` if it exists, else root, except that
with `enable_script_security` a missing `keepalived_script` is an error and the script is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .engine import Words
from .model.scripts import NotifyScript
from .words import CommandSyntaxError, split_command

if TYPE_CHECKING:
    from .engine import Parser

DEFAULT_SCRIPT_USER = "keepalived_script"


@dataclass
class ScriptUsers:
    """keepalived's default script user, decided once per configuration read."""

    security: bool = False  # enable_script_security
    default_set: bool = False
    default_failed: bool = False
    uid: int = 0
    gid: int = 0
    our_uid: int = 0
    our_gid: int = 0

    def set_default(self, parser: Parser, user: str, group: str | None) -> bool:
        """`script_user USER [GROUP]`; True if it failed (keepalived then never retries)."""
        self.default_set = True
        ids = resolve_user(parser, user, group)
        if ids is None:
            self.default_failed = True
        else:
            self.uid, self.gid = ids
        return self.default_failed

    def default(self, parser: Parser) -> tuple[int, int] | None:
        """The default uid/gid, or None if none can be set (keepalived's `get_default_script_user`)."""
        if self.default_failed:
            return None
        if not self.default_set:
            self.default_set = True
            self.uid, self.gid = self.our_uid, self.our_gid
            ids = resolve_user(parser, DEFAULT_SCRIPT_USER, None)
            if ids is None and self.security:
                parser.error(f"Unable to set default user {DEFAULT_SCRIPT_USER} for script")
                self.default_failed = True
                return None
            if ids is not None:
                self.uid, self.gid = ids
        return self.uid, self.gid


def resolve_user(parser: Parser, user: str, group: str | None) -> tuple[int, int] | None:
    """uid and gid of `user` (gid of `group` if given); logs and returns None if either does not exist."""
    entry = parser.host.user(user)
    if entry is None:
        parser.log(f"Script user '{user}' does not exist")
        return None
    gid = entry.gid
    if group is not None:
        found = parser.host.group(group)
        if found is None:
            parser.log(f"Script group '{group}' does not exist")
            return None
        gid = found
    return entry.uid, gid


def command_args(parser: Parser, command: str) -> list[str] | None:
    """A command string split into program and arguments (keepalived's `set_script_params_array`)."""
    try:
        words = split_command(command)
    except CommandSyntaxError as err:
        parser.report_command_error(err)
        return None
    return words or None


def read_notify_script(parser: Parser, kind: str) -> NotifyScript | None:
    """`KEYWORD "command args" [user [group]]` on the current line (keepalived's `notify_script_init`)."""
    words = parser.command_words()
    if words is None:
        parser.log("Unable to parse notify script")
        return None
    # keepalived's message for a command it cannot split names the command with strvec_slot, so a keyword
    # without one stops the whole read (exit status 2)
    command = Words(words).arg(1)
    args = command_args(parser, command)
    if args is None:
        parser.log(f"Unable to parse script '{command}' - ignoring")
        return None
    if len(words) > 2:
        ids = resolve_user(parser, words[2], words[3] if len(words) > 3 else None)
        if ids is None:
            parser.log(f"Invalid user/group for {kind} script {args[0]} - ignoring")
            return None
    else:
        ids = parser.session.script_users.default(parser)
        if ids is None:
            parser.log(f"Failed to set default user for {kind} script {args[0]} - ignoring")
            return None
    return NotifyScript(args, *ids)
