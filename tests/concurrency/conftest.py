"""Release N threads at once on the same action and count what each got back.

Every test here runs on the suite's database (SQLite, or PostgreSQL when
``ASLL_TEST_DATABASE_URL`` is set), each thread with its own test client, hence its own
app context, database session and connection, as N browser tabs or API clients would.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

N = 10  # "ten simultaneous submits": a double click, two colleagues, a client that retries


def release(n: int, action, timeout: float = 120.0) -> list:
    """Run ``action(i)`` in ``n`` threads released together by a barrier; return each result or exception."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = action(index)
        except BaseException as exc:  # noqa: BLE001 - reported to the test, never swallowed
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [t for t in threads if t.is_alive()]
    assert not stuck, f"{len(stuck)} thread(s) still running after {timeout} s"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"exceptions in threads: {errors!r}"
    return results


def statuses(responses) -> Counter:
    return Counter(r.status_code for r in responses)


def clone_client(app, client):
    """A new test client carrying the same cookies (the same logged-in browser session)."""
    other = app.test_client()
    for cookie in client._cookies.values():  # werkzeug keeps them by (domain, path, name)
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


@pytest.fixture
def burst(app):
    """``burst(client, send)``: ``send(clone)`` from N clones of ``client`` at once; the N responses."""

    def run(client, send, n: int = N):
        clones = [clone_client(app, client) for _ in range(n)]
        return release(n, lambda i: send(clones[i]))

    return run
