"""The values the realip, access, auth_basic, auth_request, limit_req and limit_conn directives (and the
core's `satisfy`) set in a level, shared by their handlers (directives/http_*.py) and the merge that turns
them into the model (finish/access.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .model.access import AccessRule, Cidr, LimitConn, LimitReq, RealIpSource, Satisfy
from .model.logging import ErrorLevel
from .model.templates import Template
from .settings import Slot


@dataclass(frozen=True, slots=True)
class RealIpHeader:
    source: RealIpSource
    header: str  # lower case, for RealIpSource.HEADER


@dataclass(frozen=True, slots=True)
class UserFile:
    """`auth_basic_user_file` as compiled: see model.access.AuthBasic."""

    template: Template
    relative_prefix: str | None


SET_REAL_IP_FROM = Slot[tuple[Cidr, ...]]("set_real_ip_from")
REAL_IP_HEADER = Slot[RealIpHeader]("real_ip_header")
REAL_IP_RECURSIVE = Slot[bool]("real_ip_recursive")
ACCESS_RULES = Slot[tuple[AccessRule, ...]]("allow")  # `allow` and `deny`, in order, `all` as one rule
AUTH_BASIC = Slot[Template]("auth_basic")
AUTH_BASIC_USER_FILE = Slot[UserFile]("auth_basic_user_file")
AUTH_REQUEST = Slot[str]("auth_request")  # "": off
AUTH_REQUEST_SET = Slot[tuple[tuple[str, Template], ...]]("auth_request_set")  # this level's, in order
SATISFY = Slot[Satisfy]("satisfy")
LIMIT_REQ = Slot[tuple[LimitReq, ...]]("limit_req")
LIMIT_REQ_LOG_LEVEL = Slot[ErrorLevel]("limit_req_log_level")
LIMIT_REQ_STATUS = Slot[int]("limit_req_status")
LIMIT_REQ_DRY_RUN = Slot[bool]("limit_req_dry_run")
LIMIT_CONN = Slot[tuple[LimitConn, ...]]("limit_conn")
LIMIT_CONN_LOG_LEVEL = Slot[ErrorLevel]("limit_conn_log_level")
LIMIT_CONN_STATUS = Slot[int]("limit_conn_status")
LIMIT_CONN_DRY_RUN = Slot[bool]("limit_conn_dry_run")
