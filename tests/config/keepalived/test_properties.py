"""Whatever the text, `load()` ends, returns a LoadResult and places every message it gives a file at a real
line: arbitrary text, and real configurations (the samples and the recorded experiments) mutated line by
line and character by character.

Generated includes only name files inside the temporary directory the configuration is read from.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hapair.config.keepalived.load import LoadResult, load
from tests.reference import EVIDENCE, SAMPLES

from .conftest import lab_host
from .test_reader import time_limit

SOURCES = sorted(SAMPLES.iterdir()) + sorted(EVIDENCE.glob("*.conf"))
CONFIGS = {path.name: path.read_bytes() for path in SOURCES}

# Inserted as text into a line, or as a line of their own.
SNIPPETS = [
    b"{",
    b"}",
    b"{ }",
    b'"',
    b"'",
    b"$",
    b"${",
    b"$A=",
    b"$A=x",
    b"$A=$A",
    b"$A=${A}${A}",
    b"$A",
    b"${A}",
    b"$M= \\",
    b"${M}",
    b"@nodeA ",
    b"@^nodeA ",
    b"@",
    b"~SEQ(",
    b"~SEQ(I, 3) ",
    b"~SEQx(I, 0x10) x$I",
    b"~SEQ(I, 1, 0, 3) ",
    b"~LST(",
    b"~LST({A,B}, {1,2}, 3) ",
    b"${_RANDOM 1 2}",
    b"${_HASH}",
    b"${_BANG}",
    b"${_INSTANCE}",
    b"\\",
    b"\\#",
    b"\\!",
    b"#",
    b"!",
    b"\0",
    b"\r",
    b"\t",
    b" ",
    b"\n",
    b"\xff\xfe",
    b"x" * 1500,
    b"include other.conf",
    b"include *.conf",
    b"includea inc.d/*.conf",
    b"include {a,b}.conf",
    b"includer inc.d",
    b"includew nomatch*.conf",
    b"includeb {a,missing}.conf",
    b"priority",
    b"virtual_ipaddress {",
    b"vrrp_instance VI_X {",
    b"global_defs {",
]

# Files the generated includes can find, beside the configuration.
INCLUDED = {
    "other.conf": b"vrrp_instance VI_O {\n interface eth0\n virtual_router_id 9\n}\n",
    "a.conf": b"foo_a 1\n",
    "b.conf": b"$B=b\n~SEQ(I, 2) foo_b_$I\n",
    "inc.d/x.conf": b"global_defs {\n router_id x\n}\n",
}

CHECKED = settings(
    max_examples=300,
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.too_slow],
    # a failing example is reported as found: shrinking one that hangs would take minutes
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


def load_text(data: bytes) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="hapair-prop-") as directory:
        root = Path(directory)
        for name, content in INCLUDED.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        (root / "keepalived.conf").write_bytes(data)
        with time_limit(5):
            return load("keepalived.conf", lab_host(), config_id="nodeA", cwd=directory)


def check(result: LoadResult) -> None:
    assert isinstance(result, LoadResult)
    assert result.exit_status in (0, 2, 4, 5, 6)
    for diagnostic in result.report:
        assert isinstance(diagnostic.render(), str)
        if diagnostic.file is not None:
            assert diagnostic.line is not None and diagnostic.line > 0, diagnostic


@st.composite
def mutated_configs(draw: st.DrawFn) -> bytes:
    lines = CONFIGS[draw(st.sampled_from(sorted(CONFIGS)))].split(b"\n")
    for _ in range(draw(st.integers(1, 8))):
        index = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "insert line", "insert text"]))
        if operation == "delete" and len(lines) > 1:
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif operation == "insert line":
            lines.insert(index, draw(st.sampled_from(SNIPPETS)))
        else:
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(SNIPPETS)) + line[at:]
    return b"\n".join(lines)


@CHECKED
@given(mutated_configs())
def test_mutated_real_configs(data: bytes) -> None:
    check(load_text(data))


# No `/` and no upper case: arbitrary text cannot name a file outside the directory (not even `${_PWD}`).
PIECES = st.one_of(
    st.text(alphabet="abcxyz019_-.*?[]{}\"'$@~!#\\=(), \t\n\r\0", max_size=6),
    st.sampled_from(
        [
            "include ",
            "includea ",
            "$a=",
            "${a}",
            "~SEQ(i, 2) ",
            "~LST(i, a, b) ",
            "@nodeA ",
            "vrrp_instance ",
            "global_defs ",
            "virtual_ipaddress ",
            "interface eth0\n",
            "virtual_router_id 5\n",
            "priority ",
            "track_script ",
            "vrrp_script ",
            "script ",
            "notify ",
            "}\n",
            "{\n",
        ]
    ),
)


@CHECKED
@given(st.lists(PIECES, max_size=40).map("".join))
def test_arbitrary_text(text: str) -> None:
    check(load_text(text.encode("utf-8", "surrogateescape")))


@CHECKED
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    check(load_text(data.replace(b"/", b"_")))
