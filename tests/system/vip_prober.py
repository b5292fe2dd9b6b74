"""A client probing the VIP over HTTP every INTERVAL seconds, each request in its own thread (so that one
that hangs does not delay the next), one line per request on stdout once it ends:

    SENT RECEIVED ok|fail DETAIL        (times on the monotonic clock, which namespaces share)

Usage: vip_prober.py ADDRESS PORT INTERVAL TIMEOUT"""

from __future__ import annotations

import http.client
import sys
import threading
import time


def request(address: str, port: int, timeout: float, lock: threading.Lock) -> None:
    sent = time.monotonic()
    try:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        connection.close()
        ok = response.status == 200
        detail = f"{response.status}:{body.decode(errors='replace').strip()}"
    except (OSError, http.client.HTTPException) as error:
        ok, detail = False, type(error).__name__
    line = f"{sent:.6f} {time.monotonic():.6f} {'ok' if ok else 'fail'} {detail}\n"
    with lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def main(address: str, port: int, interval: float, timeout: float) -> None:
    lock = threading.Lock()
    next_at = time.monotonic()
    while True:
        threading.Thread(target=request, args=(address, port, timeout, lock), daemon=True).start()
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
