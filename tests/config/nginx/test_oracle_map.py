"""`hapair proxy -t` beside the real `nginx -t` on `map` (its lines, `hostnames`, wildcards, regular
expressions, `include` inside the block, the hash sizes and their messages) and `split_clients`: same
status, same lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _map(lines: str, source: str = "$host", variable: str = "$m") -> str:
    return f"http {{ map {source} {variable} {{ {lines} }} }}"


def _keys(count: int, length: int) -> str:
    return " ".join(f"{i:0{length}d} v;" for i in range(count))


CASES = [
    _map("default 1; a 2; ~^b 3; ~*^C 4; \\default 5; \\~x 6; ~ 7;"),
    _map("default 1; default 2;"),
    _map("a 1; A 2;"),
    _map("a b c;"),
    _map("a;"),
    _map("volatile; hostnames; a b;"),
    _map("volatile x;"),
    _map("a b;", variable="m"),
    _map("a b;", variable="$"),
    _map("a b;", variable="$URI"),
    _map("a b;", variable="$host"),
    _map("a b;", source="$nosuch"),
    _map("a $nosuch;"),
    _map("a $x{;"),
    _map("a ${x;"),
    _map("~*(?<name>[a-z]+) $name;") + " http { }",
    _map("~(?<name>[a-z]+) $name;", variable="$other")
    + " http { server { listen 38081; return 200 $name$other; } }",
    _map("hostnames; *.example.com 1; .example.org 2; www.example.* 3; example.net 4;"),
    _map("hostnames; * 1;"),
    _map("hostnames; A*B.com 1;"),
    _map("hostnames; a..b 1;"),
    _map("hostnames; **.a 1;"),
    _map("hostnames; *. 1;"),
    _map("hostnames; . 1;"),
    _map("hostnames; *.Foo.com 1; .foo.com 2;"),
    _map("hostnames; .foo.com 1; foo.com 2;"),
    _map("hostnames; Foo.com 1; .FOO.com 2;"),
    _map("hostnames; WWW.Ex.* 1; www.ex.* 2;"),
    _map("*.a.com 1; hostnames; *.a.com 2;"),
    _map("a.* 1; a.* 2;"),
    _map("include;"),
    _map("include a b;"),
    _map("include nosuch.map;"),
    _map("include *.nomatch;"),
    "http { map $host $m { a b; } map $uri $m { c d; } server { listen 38081; return 200 $m; } }",
    "http { map $host $m { a b; } map_hash_max_size 10; }",
    "http { map $host $m { a b; } map_hash_bucket_size 128; }",
    "http { map_hash_bucket_size 100; map $host $m { a b; } map $uri $n { c d; } }",
    "http { map_hash_max_size x; }",
    "http { map_hash_bucket_size 1m; }",
    "http { server { map_hash_max_size 1; } }",
    "http { server { map $host $m { } } }",
    "http { map $host $m { a b; } map $host $m; }",
    "http { map $host { a b; } }",
    "http { map_hash_max_size 0; map $host $m { a b; } }",
    "http { map_hash_max_size 0; map $host $m { default b; } }",
    "http { map_hash_bucket_size 1; map $host $m { " + "a" * 45 + " b; } }",
    "http { map_hash_bucket_size 1; map $host $m { " + "a" * 46 + " b; } }",
    "http { map_hash_bucket_size 65536; map $host $m { a b; } }",
    "http { map_hash_max_size 1; map $host $m { a b; c d; e f; g h; i j; k l; m n; o p; } }",
    "http { map_hash_max_size 10; map $host $m { " + _keys(40, 3) + " } }",
    "http { map_hash_max_size 100; map $host $m { " + _keys(300, 8) + " } }",
    "http { map_hash_max_size 20000; map $host $m { " + _keys(300, 8) + " } }",
    "http { map_hash_max_size 3; map $host $m { hostnames; "
    + " ".join(f"*.{i}.example.com v;" for i in range(40))
    + " } }",
    "http { map_hash_max_size 3; map $host $m { hostnames; "
    + " ".join(f"www{i}.example.* v;" for i in range(40))
    + " } }",
    "http { map_hash_bucket_size 1; map $host $m { hostnames; .a.b.c." + "d" * 50 + ".com v; } }",
    "http { split_clients $remote_addr $s { 50% a; 49.5% b; * c; } }",
    "http { split_clients $remote_addr $s { 50% a; 60% b; } }",
    "http { split_clients $remote_addr $s { * a; 10% b; } }",
    "http { split_clients $remote_addr $s { 0.001% a; } }",
    "http { split_clients $remote_addr $s { 0% a; } }",
    "http { split_clients $remote_addr $s { 5 a; } }",
    "http { split_clients $remote_addr $s { x% a; } }",
    "http { split_clients $remote_addr $s { 1.2.3% a; } }",
    "http { split_clients $remote_addr $s { % a; } }",
    "http { split_clients $remote_addr $s { 50% a b; } }",
    "http { split_clients $remote_addr $s { include x; } }",
    "http { split_clients $remote_addr s { 50% a; } }",
    "http { split_clients $remote_addr $host { 50% a; } }",
    "http { split_clients $nosuch $s { 50% a; } }",
    "http { split_clients $remote_addr $s { 50% $nosuch; } server { listen 38081; return 200 $s; } }",
    "http { split_clients $remote_addr $s { } }",
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


# included files: (their text, the map block that includes them)
INCLUDES = [
    ("a 1;\n\nb 2;\n", "include inc.map;"),
    ("a 1;\n\nb 2 3;\n", "include inc.map;"),
    ("a 1;\n\nA 2;\n", "include inc.map;"),
    ("a 1;\n\nb $x{;\n", "include inc.map;"),
    ("a 1;\n\nb $nosuch;\n", "include inc.map;"),
    ("a 1;\n\n}\n", "include inc.map;"),
    ("a 1;\n\nb {\n", "include inc.map;"),
    ("a 1;\ninclude inc2.map;\n", "include inc.map;"),
    ("a 1;\n\nb 2;\n", "include inc.map;\ninclude inc.map;"),
    ("hostnames;\n*.a.com 1;\n", "include inc.map; .a.com 2;"),
    ("default 1;\n", "default 0;\ninclude inc*.map;"),
]


@pytest.mark.parametrize(("included", "lines"), INCLUDES)
def test_an_included_file_answers_as_nginx(prefix: Path, included: str, lines: str) -> None:
    (prefix / "inc.map").write_text(included)
    (prefix / "inc2.map").write_text("\nc $x{;\n")
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + "http { map $host $m {\n" + lines + "\n} }\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


@pytest.mark.parametrize(
    ("lines", "line"),
    [("~( 1;", 4), ("~*a(?<n 1;", 4), ("include inc.map;", 4)],
)
def test_a_regular_expression_that_does_not_compile_is_reported_where_nginx_reports_it(
    prefix: Path, lines: str, line: int
) -> None:
    """hapair's words (Python's `re`), nginx's place: the line, or the `include` the line came through."""
    (prefix / "inc.map").write_text("a 1;\n\n~( 2;\n")
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + "http { map $host $m {\n" + lines + "\n} }\n")
    (nginx_status, nginx_lines), (hapair_status, hapair_lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (1, 1)
    assert nginx_lines[0].startswith("nginx: [emerg] pcre2_compile() failed: ")
    assert hapair_lines[0].startswith("nginx: [emerg] hapair cannot compile the regular expression ")
    assert nginx_lines[0].endswith(f" in {conf}:{line}")
    assert hapair_lines[0].endswith(f" in {conf}:{line}")


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("http { map $host $args { a b; } }", 'hapair does not support making the "$args" variable'),
        ("http { map $host $http_x { a b; } }", 'hapair does not support making the "$http_x" variable'),
        ("http { split_clients $host $arg_x { * a; } }", 'making the "$arg_x" variable'),
        ("http { split_clients $remote_addr $s { 50%; } }", "split_clients line without a value"),
    ],
)
def test_what_hapair_refuses_is_named(prefix: Path, case: str, refusal: str) -> None:
    """nginx accepts these; hapair names what it does not do (a split_clients line without a value makes
    nginx read past the line's words)."""
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert refusal in lines[0]
