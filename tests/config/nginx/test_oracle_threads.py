"""`hapair proxy -t` beside the real `nginx -t` on `thread_pool` and `aio threads`: the pool's parameters,
duplicates, the `default` pool made when a location names none, pools named before they are defined
(later in the file) and never defined (same status, same lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

CASES = [
    "thread_pool p threads=4; events {} http { aio threads=p; }",
    "thread_pool p threads=4 max_queue=0; events {} http { server { location / { aio threads=p; } } }",
    "events {} http { aio threads; }",
    "events {} http { aio threads=default; }",
    "thread_pool default threads=2; events {} http { aio threads; }",
    "events {} http { aio threads=nosuch; }",
    "events {} http { aio threads=; }",
    "events {} http { server { aio threads=late; } } thread_pool late threads=1;",
    "events {} http { aio threads=b; server { aio threads=a; } }",
    "events {} http { aio threads=a; aio threads=b; }",
    "events {} http { aio threadsx; }",
    "events {} http { aio off; server { aio threads; } }",
    "thread_pool a threads=0; events {}",
    "thread_pool a threads=x; events {}",
    "thread_pool a threads=2 max_queue=x; events {}",
    "thread_pool a max_queue=3; events {}",
    "thread_pool a threads=2 foo=bar; events {}",
    "thread_pool a threads=2; thread_pool a threads=3; events {}",
    "thread_pool a; events {}",
    "events { thread_pool a threads=1; }",
    "events {} http { thread_pool a threads=1; }",
    "events {} http { aio threads=x; aio_write on; } thread_pool x threads=1;",
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)
