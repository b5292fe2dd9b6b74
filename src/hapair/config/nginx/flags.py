"""nginx's directive flags: where a directive may appear and how many arguments it takes.

The values are nginx 1.22's (`ngx_conf_file.h`, `ngx_http_config.h`, `ngx_stream.h`, `ngx_event.h`): the
context bits of different module kinds overlap, so a flag means something only together with the kind of
module that declares the directive, as in nginx.
"""

from __future__ import annotations

from enum import Enum

CONF_NOARGS = 0x00000001
CONF_TAKE1 = 0x00000002
CONF_TAKE2 = 0x00000004
CONF_TAKE3 = 0x00000008
CONF_TAKE4 = 0x00000010
CONF_TAKE5 = 0x00000020
CONF_TAKE6 = 0x00000040
CONF_TAKE7 = 0x00000080
CONF_TAKE12 = CONF_TAKE1 | CONF_TAKE2
CONF_TAKE13 = CONF_TAKE1 | CONF_TAKE3
CONF_TAKE23 = CONF_TAKE2 | CONF_TAKE3
CONF_TAKE123 = CONF_TAKE1 | CONF_TAKE2 | CONF_TAKE3
CONF_TAKE1234 = CONF_TAKE1 | CONF_TAKE2 | CONF_TAKE3 | CONF_TAKE4
CONF_BLOCK = 0x00000100
CONF_FLAG = 0x00000200
CONF_ANY = 0x00000400
CONF_1MORE = 0x00000800
CONF_2MORE = 0x00001000
DIRECT_CONF = 0x00010000
MAIN_CONF = 0x01000000
ANY_CONF = 0xFF000000

CONF_MAX_ARGS = 8
# CONF_TAKEn for a directive with n arguments (ngx_conf_file.c's argument_number)
ARGUMENT_NUMBER = (
    CONF_NOARGS,
    CONF_TAKE1,
    CONF_TAKE2,
    CONF_TAKE3,
    CONF_TAKE4,
    CONF_TAKE5,
    CONF_TAKE6,
    CONF_TAKE7,
)

EVENT_CONF = 0x02000000

HTTP_MAIN_CONF = 0x02000000
HTTP_SRV_CONF = 0x04000000
HTTP_LOC_CONF = 0x08000000
HTTP_UPS_CONF = 0x10000000
HTTP_SIF_CONF = 0x20000000
HTTP_LIF_CONF = 0x40000000
HTTP_LMT_CONF = 0x80000000

STREAM_MAIN_CONF = 0x02000000
STREAM_SRV_CONF = 0x04000000
STREAM_UPS_CONF = 0x08000000


class ModuleKind(Enum):
    """The kind of module a directive belongs to (nginx's module `type`): it must match the block being
    read, except for `include`, which is read everywhere."""

    CONF = "CONF"
    CORE = "CORE"
    EVENT = "EVENT"
    HTTP = "HTTP"
    STREAM = "STREAM"


def takes(flags: int, count: int) -> bool:
    """Whether a directive declared with `flags` accepts `count` arguments (ngx_conf_handler's check)."""
    if flags & CONF_ANY:
        return True
    if flags & CONF_FLAG:
        return count == 1
    if flags & CONF_1MORE:
        return count >= 1
    if flags & CONF_2MORE:
        return count >= 2
    if count + 1 > CONF_MAX_ARGS:
        return False
    return bool(flags & ARGUMENT_NUMBER[count])
