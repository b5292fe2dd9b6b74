"""The verdicts the limit_req and limit_conn modules leave on an exchange (`ex.limit_req_status`,
`ex.limit_conn_status`; 0: none yet), and their names in `$limit_req_status` and `$limit_conn_status`.
Here, apart from those modules, so that variables.py names them without importing a limit module, which a
configuration without limits never loads (proxy/preload.py)."""

from __future__ import annotations

from typing import Final

LIMIT_REQ_PASSED: Final = 1
LIMIT_REQ_DELAYED: Final = 2
LIMIT_REQ_REJECTED: Final = 3
LIMIT_REQ_DELAYED_DRY_RUN: Final = 4
LIMIT_REQ_REJECTED_DRY_RUN: Final = 5
LIMIT_REQ_STATUSES: Final = (None, "PASSED", "DELAYED", "REJECTED", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN")

LIMIT_CONN_PASSED: Final = 1
LIMIT_CONN_REJECTED: Final = 2
LIMIT_CONN_REJECTED_DRY_RUN: Final = 3
LIMIT_CONN_STATUSES: Final = (None, "PASSED", "REJECTED", "REJECTED_DRY_RUN")
