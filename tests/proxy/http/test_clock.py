"""The wall-clock texts nginx writes: `$date_gmt` and `$date_local` in the SSI module's default format."""

from __future__ import annotations

import time

from hapair.proxy.http.clock import ssi_date

MOMENT = 1_700_000_000


def test_date_gmt_is_nginx_s_default_timefmt_in_gmt() -> None:
    assert ssi_date(MOMENT, gmt=True) == "Tuesday, 14-Nov-2023 22:13:20 GMT"


def test_date_local_is_the_c_library_s_strftime_of_the_same_format() -> None:
    # Python's strftime runs in the C locale unless a program changes it, as nginx's does
    expected = time.strftime("%A, %d-%b-%Y %H:%M:%S %Z", time.localtime(MOMENT))
    assert ssi_date(MOMENT, gmt=False) == expected
