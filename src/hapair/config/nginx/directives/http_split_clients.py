"""`split_clients` (ngx_http_split_clients_module.c, and the same in stream), with nginx's checks and
messages.

Each line is `PERCENT% VALUE` (up to two decimals) or `* VALUE`; the values are text (a `$` in them is not
a variable); words after the value are ignored, as nginx ignores them. A line with no value is refused:
nginx reads past its words then.
"""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..errors import ConfigError
from ..model.place import Place
from ..model.variables import Split, SplitClients
from ..variables import compile_template, configured_variable
from .http_map import made_variables_owner, wire_text

_FULL = 10000  # 100%, in hundredths of a percent
_RANGE = 0xFFFFFFFF


def _percent(text: str) -> int | None:
    """ngx_atofp with two decimals, before the `%`: None when it is not such a number or is 0."""
    if not text.endswith("%") or len(text) == 1:
        return None
    number = text[:-1]
    whole, _, decimals = number.partition(".")
    if "." in decimals or len(decimals) > 2 or not (whole + decimals).isdigit() or not number.isascii():
        return None
    value = int(whole + decimals.ljust(2, "0"))
    return value or None


class _SplitReader:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []  # (hundredths of a percent, 0 for `*`; value)

    def line(self, words: list[str], place: Place) -> None:
        share = words[0]
        if share == "*":
            percent = 0
        else:
            found = _percent(share)
            if found is None:
                raise ConfigError(f'invalid percent value "{share}"', place)
            percent = found
        if len(words) < 2:
            raise ConfigError("hapair does not support a split_clients line without a value", place)
        self.lines.append((percent, words[1]))


def split_clients(block: Block, directive: Directive, reading: Reading) -> None:
    owner = made_variables_owner(block)
    uses = owner.variables
    source = compile_template(directive.args[0], uses, directive.place, directive.place)
    name = configured_variable(directive, directive.args[1], uses)
    reader = _SplitReader()
    reading.parse_lines(reader.line)
    total = 0
    bound = 0
    splits = []
    for percent, value in reader.lines:
        total = total + percent if percent else _FULL
        if total > _FULL:
            raise ConfigError("percent total is greater than 100%", reading.here())
        if percent:
            bound = (bound + percent * _RANGE // _FULL) & _RANGE
        splits.append(Split(bound if percent else 0, wire_text(value)))
    owner.made_variables.append(SplitClients(name, source, tuple(splits), directive.place))


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_split_clients_module", "split_clients"): split_clients,
}
