"""The login limits hold across web processes: two waitress servers sharing REDIS_URL count the
failures of one account together. Collected only when REDIS_URL is set (tests/accounts/conftest.py)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from asll.models import Role

START_TIMEOUT = 30.0
SERVER = """
import sys
from waitress import serve
from asll.app import create_app
serve(create_app(), host="127.0.0.1", port=int(sys.argv[1]), threads=2, _quiet=True)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """A cookie jar and the login form of one server (no redirects followed)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._NoRedirect())

    def _open(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(self.base + path, body, timeout=10)
        except urllib.error.HTTPError as error:
            response = error
        return response.status, dict(response.headers), response.read().decode("utf-8")

    def login(self, email: str, password: str):
        _status, _headers, page = self._open("/connexion")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return self._open("/connexion", {"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def two_servers(app, app_env, world, tmp_path):
    """Two web processes of the test app (same database, same REDIS_URL), stopped at the end."""
    env = {**os.environ, **app_env}
    processes, bases = [], []
    try:
        for index in range(2):
            port = _free_port()
            log = open(tmp_path / f"server-{index}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env, stdout=log,
                                               stderr=subprocess.STDOUT), log))
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + START_TIMEOUT
        for base, (process, _log) in zip(bases, processes, strict=True):
            while True:
                assert process.poll() is None, (tmp_path / "server-0.log").read_text(errors="replace")
                try:
                    with urllib.request.urlopen(base + "/connexion", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"{base} not answering after {START_TIMEOUT:g} s"
                time.sleep(0.1)
        yield [Browser(base) for base in bases]
    finally:
        for process, log in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            log.close()


def test_failures_on_two_processes_add_up_for_one_account(world, two_servers):
    first, second = two_servers
    email = world.loire.users[Role.PRESCRIBER].email
    for attempt in range(10):
        server = first if attempt % 2 == 0 else second
        status, _headers, _page = server.login(email, f"mauvais-{attempt}")
        assert status == 401
    status, headers, page = first.login(email, "mauvais-10")
    assert status == 429 and "Trop de tentatives" in page and int(headers["Retry-After"]) > 0
    status, _headers, page = second.login(email, world.password)  # the right password, on the other process
    assert status == 429 and "patientez" in page
    status, _headers, _page = second.login(world.loire.users[Role.AUDITOR].email, world.password)
    assert status == 302
