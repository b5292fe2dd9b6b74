"""The autoindex module's directives (ngx_http_autoindex_module.c): `autoindex`, `autoindex_format`,
`autoindex_localtime`, `autoindex_exact_size`."""

from __future__ import annotations

from ..context import Handler
from ..fields_content import AUTOINDEX, AUTOINDEX_EXACT_SIZE, AUTOINDEX_FORMAT, AUTOINDEX_LOCALTIME
from . import setters

HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_autoindex_module", "autoindex"): setters.flag(AUTOINDEX),
    ("ngx_http_autoindex_module", "autoindex_format"): setters.choice(
        AUTOINDEX_FORMAT, ("html", "xml", "json", "jsonp")
    ),
    ("ngx_http_autoindex_module", "autoindex_localtime"): setters.flag(AUTOINDEX_LOCALTIME),
    ("ngx_http_autoindex_module", "autoindex_exact_size"): setters.flag(AUTOINDEX_EXACT_SIZE),
}
