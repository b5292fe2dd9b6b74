"""systemd unit files for hapair's daemons, installed by `hapair install-units`: each names the `hapair`
command as `@HAPAIR@`, replaced by its absolute path when the unit is written."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PLACEHOLDER = "@HAPAIR@"
UNITS = ("hapair-proxy.service", "hapair-vrrp.service", "hapair-node.service")
DEFAULT_DESTINATION = "/etc/systemd/system"


def render(name: str, executable: str) -> str:
    """The unit `name` with the `hapair` command at `executable`."""
    text = resources.files(__package__).joinpath(name).read_text()
    return text.replace(PLACEHOLDER, executable)


def install(destination: Path, executable: str) -> list[Path]:
    """Write every unit into `destination`; the paths written."""
    written = []
    for name in UNITS:
        path = destination / name
        path.write_text(render(name, executable))
        written.append(path)
    return written
