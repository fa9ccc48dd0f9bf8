"""Waiting on a condition in tests that drive other processes: polled, bounded, never a fixed sleep."""

from __future__ import annotations

import time

WAIT = 60.0  # any one thing a worker or a host does, on a busy machine


def wait_for(predicate, what: str = "condition", *, timeout: float = WAIT, interval: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value (returned), or fail once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
