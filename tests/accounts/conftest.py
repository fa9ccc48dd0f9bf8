"""Helpers of the account tests: minute-level moves of the fixed clock, sent mail, cookie copies."""

from __future__ import annotations

import datetime as dt
import email
import os
import re
from email import policy
from pathlib import Path

import pytest

from tests.concurrency.conftest import clone_client  # noqa: F401  (a copied cookie, replayed)
from tests.conftest import csrf_token, login
from tests.web.conftest import as_role  # noqa: F401  (a client logged in as one role of the Loire)

# Limits shared by several web processes need the shared storage: collected only with Redis.
collect_ignore = [] if os.environ.get("REDIS_URL") else ["test_rate_limits_redis.py"]


class Later:
    """Moves the suite's fixed clock by minutes or days (time only moves when the test says so)."""

    def __init__(self, clock):
        self._traveller = clock._traveller

    def __call__(self, **delta) -> None:
        self._traveller.shift(dt.timedelta(**delta))


@pytest.fixture
def later(clock):
    return Later(clock)


def sent_mails(folder: Path) -> list[email.message.EmailMessage]:
    """The messages written to the mail folder (the embedded default's "sent" mail), oldest first."""
    paths = sorted((folder / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, path: str) -> str:
    """The path of the one link of the message under ``path`` (e.g. ``/invitation/``)."""
    found = re.findall(r"https?://[^/\s]+(" + re.escape(path) + r"[A-Za-z0-9_.\-]+)", text_of(message))
    assert len(found) == 1, text_of(message)
    return found[0]


def post_form(client, url: str, data: dict, page_url: str | None = None):
    """POST a form with the CSRF token of the page it is on."""
    page = client.get(page_url or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def logged_in(app, email_address: str, password: str):
    client = app.test_client()
    response = login(client, email_address, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def text(response) -> str:
    return response.get_data(as_text=True)
