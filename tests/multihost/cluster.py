"""Several "hosts" on one machine: web, worker and beat processes that share only what production
hosts share (PostgreSQL, Redis, an S3-compatible bucket, an SMTP server) and nothing on disk.

Every process gets its settings from environment variables only, built from scratch here (no
``ASLL_*`` variable of the test process leaks in), and its own empty instance folder. The
process plumbing (own process group, killed with the test process, log file, SIGTERM then
SIGKILL) is :class:`tests.tasks.worker_process.CeleryWorkerProcess`'s; the web and beat
processes only change the command line and what "ready" means.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import requests

from tests.tasks.worker_process import CeleryWorkerProcess, WorkerStartError

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90.0  # five processes start at once on a shared machine
HTTP_TIMEOUT = 30.0  # one request to a web process

# Variables of the test process a "host" must not inherit: its configuration is only what is given.
_OWN_PREFIXES = ("ASLL_", "CELERY_", "SMTP_", "FLASK_")
_OWN_NAMES = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIL_FROM"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def host_environment(shared: Mapping[str, str], instance: Path) -> dict[str, str]:
    """The environment of one process: the system's (PATH, HOME, ...), the shared settings and its instance."""
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(_OWN_PREFIXES) and key not in _OWN_NAMES}
    return {**base, **shared, "ASLL_INSTANCE_PATH": str(instance), "PYTHONUNBUFFERED": "1"}


def _script(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def files_in(folder: Path) -> list[str]:
    """Every file under a folder, relative and sorted (what a host left on its own disk)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


class Host(CeleryWorkerProcess):
    """A process started from the test's main thread, its readiness awaited afterwards.

    Started from the main thread because ``PR_SET_PDEATHSIG`` (the child dies with its parent)
    follows the *thread* that forked it: a child started from a pool thread is killed when that
    thread ends. :meth:`launch` returns at once so that all hosts boot at the same time.
    """

    name: str

    def launch(self) -> Host:
        self.wait_ready = lambda timeout=None: None  # start() without its wait; awaited by the caller
        try:
            return self.start()
        finally:
            del self.wait_ready


class WebProcess(Host):
    """A web process serving ``asll`` on 127.0.0.1: gunicorn with the repository's ``gunicorn.conf.py``
    when there is one (production's server), else waitress (the embedded default's)."""

    GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"

    def __init__(self, log_dir: Path, *, env: dict[str, str], name: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # gunicorn.conf.py reads its bind, workers and threads from the environment too.
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4"}
        super().__init__(log_dir, env=env, name_prefix=name, ready_timeout=READY_TIMEOUT)
        self.name = name

    def command(self) -> list[str]:
        if self.GUNICORN_CONF.exists():
            # gunicorn's control socket (27.0) defaults to ~/.gunicorn/gunicorn.ctl, one path for every
            # gunicorn of the machine: two "hosts" on this one must not share it.
            return [_script("gunicorn"), "--config", str(self.GUNICORN_CONF), "--no-control-socket"]
        return [_script("waitress-serve"), f"--listen=127.0.0.1:{self.port}", "--threads=4",
                "--call", "asll.app:create_app"]

    def _answers(self) -> bool:
        for path in ("/healthz", "/connexion"):
            try:
                if requests.get(self.base_url + path, timeout=2, allow_redirects=False).status_code == 200:
                    return True
            except requests.RequestException:
                return False
        return False

    def wait_ready(self, timeout: float | None = None) -> None:
        """Poll ``/healthz`` (or the login page, before it exists) until 200, while the process lives."""
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._exited():
                raise WorkerStartError(f"web {self.name} exited with code {self._reap()} before it answered.\n"
                                       f"{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise WorkerStartError(f"web {self.name} did not answer after {timeout:g} s.\n{self.log_tail()}")
            time.sleep(0.1)


class BeatProcess(Host):
    """The single Celery beat; its schedule file is in its own instance (``beat_schedule_filename``)."""

    def __init__(self, log_dir: Path, *, env: dict[str, str], name: str = "beat"):
        super().__init__(log_dir, env=env, name_prefix=name, ready_timeout=READY_TIMEOUT)
        self.name = name

    def command(self) -> list[str]:
        return [_script("celery"), "-A", self.app_module, "beat", "--loglevel=INFO"]

    def wait_ready(self, timeout: float | None = None) -> None:
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while "beat: Starting..." not in self.log_text():
            if self._exited():
                raise WorkerStartError(f"beat exited with code {self._reap()} before it started.\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise WorkerStartError(f"beat not started after {timeout:g} s.\n{self.log_tail()}")
            time.sleep(0.1)


class Worker(Host):
    """A Celery worker host (``celery -A asll_tasks.worker worker``, solo pool, its own node name)."""

    def __init__(self, log_dir: Path, *, env: dict[str, str], name: str, celery_app=None):
        super().__init__(log_dir, env=env, name_prefix=name, celery_app=celery_app, ready_timeout=READY_TIMEOUT,
                         extra_args=["--concurrency=1"])
        self.name = name

    def tasks_succeeded(self, task_name: str) -> int:
        return len(re.findall(rf"Task {re.escape(task_name)}\[[0-9a-f-]+\] succeeded", self.log_text()))


# -- a browser over HTTP ------------------------------------------------------------------------
@dataclass
class Browser:
    """One browser's cookies, sent to whichever web process it talks to.

    Cookies are kept by hand (not by requests' jar) so that the very same cookie goes to web A
    and web B, and so that production's ``Secure`` cookies are sent over the test's plain HTTP.
    """

    cookies: dict[str, str] = field(default_factory=dict)
    user_agent: str = "asll-multihost-test"

    def request(self, web: WebProcess, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"User-Agent": self.user_agent, **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(method, web.base_url + path, headers=headers, allow_redirects=False,
                                    timeout=HTTP_TIMEOUT, **kwargs)
        for header in response.raw.headers.getlist("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, web: WebProcess, path: str, **kwargs) -> requests.Response:
        return self.request(web, "GET", path, **kwargs)

    def post(self, web: WebProcess, path: str, **kwargs) -> requests.Response:
        return self.request(web, "POST", path, **kwargs)

    def follow(self, web: WebProcess, response: requests.Response, limit: int = 5) -> requests.Response:
        """Follow redirects on the same web process (a load balancer's sticky choice)."""
        for _ in range(limit):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers["Location"]
            path = location.split("://", 1)[1].split("/", 1)[1] if "://" in location else location.lstrip("/")
            response = self.get(web, "/" + path)
        return response


def stop_all(processes) -> None:
    for process in processes:
        try:
            process.stop()
        except (OSError, subprocess.SubprocessError):
            process.kill()
