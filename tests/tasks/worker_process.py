"""A real Celery worker in a subprocess, for tests that need tasks to run out of process.

The worker is the production entry point, ``celery -A asll_tasks.worker worker``, started
with the test process's environment (``os.environ``, which carries ``app_env``: instance
path, database URL, and ``REDIS_URL`` when the run uses Redis), so it builds its own app
from the same configuration and sees only what the tests have committed.

Choices, and why:

* ``--pool=solo``: the task runs in the worker process itself, so its pid is the pid of
  the process started here (tests can prove a task ran out of process), and there are no
  pool children to leak. It works the same on the embedded SQLAlchemy transport and on
  Redis. ``worker_prefetch_multiplier=1`` + ``task_acks_late`` (from the app config) keep
  at most one message reserved by the worker.
* ``--without-gossip --without-mingle --without-heartbeat``: no broadcast traffic at start
  (mingle waits for replies, which the SQLAlchemy transport cannot give).
* Readiness is the ``<nodename> ready.`` line of the worker's own log, polled with a
  deadline, not ``control.ping`` (remote control needs fanout, which the SQLAlchemy
  transport does not have). If the worker dies or the deadline passes, the error carries
  the tail of the log.
* The worker gets its own session (``start_new_session=True``) so that ``stop``/``kill``
  signal its whole process group; on Linux it is also told to die if the test process
  dies (``PR_SET_PDEATHSIG``), so a killed pytest cannot leave a worker behind.

Usage::

    with CeleryWorkerProcess(tmp_path, celery_app=app.extensions["celery"]) as worker:
        result = celery_app.send_task("asll.ping", kwargs={"tenant_id": 1})
        assert result.get(timeout=60)["worker_pid"] == worker.pid

or the ``celery_worker`` fixture of ``tests/tasks/conftest.py``.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
KILL_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05


class WorkerStartError(RuntimeError):
    """The worker did not become ready (it exited, or the deadline passed)."""


def celery_command() -> list[str]:
    """The ``celery`` script of the running interpreter's environment (``.venv/bin/celery``).

    Falls back to ``python -m celery`` with the same interpreter, which runs the same code;
    both command lines contain ``celery -A asll_tasks.worker``.
    """
    script = Path(sys.executable).parent / ("celery.exe" if os.name == "nt" else "celery")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "celery"]


def _load_libc():
    """libc through ctypes, loaded in this process (never import in a freshly forked child)."""
    global _LIBC
    if _LIBC is None and sys.platform.startswith("linux"):
        try:
            import ctypes

            _LIBC = ctypes.CDLL(None, use_errno=True)
        except Exception:
            _LIBC = False
    return _LIBC or None


_LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int, libc) -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGKILL the worker when the process that started it dies."""
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def purge_broker(celery_app, *, max_retries: int = 3) -> int:
    """Drop every message waiting in the app's task queues; return how many were waiting.

    Works on every transport the app can use: on the SQLAlchemy transport it deletes the
    queue's rows (creating the tables first if they do not exist yet); on Redis it empties
    the queue lists and also forgets the messages a previous, killed worker had reserved
    (kombu's ``unacked`` hash and index), which Redis would otherwise put back in the queue
    once their visibility timeout expires. Connection attempts are bounded.
    """
    purged = 0
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=max_retries, interval_start=0.2, interval_step=0.5,
                                     interval_max=1.0)
        channel = connection.default_channel
        for queue in celery_app.amqp.queues.values():
            purged += queue(channel).purge() or 0
        if connection.transport.driver_type == "redis":
            keys = [getattr(channel, name, None) for name in ("unacked_key", "unacked_index_key", "unacked_mutex_key")]
            keys = [key for key in keys if key]
            if keys:
                channel.client.delete(*keys)
    return purged


def prepare_result_backend(celery_app) -> None:
    """Touch the result backend once from this process before a worker starts.

    With the embedded ``db+sqlite`` backend this creates the result tables now, so this
    process (waiting on a result) and the worker (storing it) never race to create them.
    On Redis it is a single GET of a key that does not exist.
    """
    celery_app.AsyncResult(f"asll-test-warmup-{uuid.uuid4().hex}").state  # noqa: B018


class CeleryWorkerProcess:
    """One Celery worker subprocess: ``start``, ``stop``, ``kill``, ``restart``.

    :param log_dir: folder for the worker logs (one file per start: ``<name>-<n>.log``).
    :param celery_app: the test process's Celery app; used only to purge the broker and
        prepare the result backend before the first start (optional).
    :param env: environment of the worker; defaults to ``os.environ`` at each start.
    :param extra_args: more ``celery worker`` options (e.g. ``["-Q", "imports"]``).
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        *,
        celery_app=None,
        app_module: str = "asll_tasks.worker",
        env: dict[str, str] | None = None,
        name_prefix: str = "asll-test",
        extra_args: Sequence[str] = (),
        ready_timeout: float = READY_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.celery_app = celery_app
        self.app_module = app_module
        self.env = env
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.nodename = f"{name_prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.starts = 0

    # -- state -------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """Pid of the running worker; with the solo pool, the pid every task runs in."""
        if self.process is None:
            raise RuntimeError("the worker has not been started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and not self._exited()

    @property
    def returncode(self) -> int | None:
        """Exit code once the worker has exited (it is then reaped), else ``None``."""
        if self.process is None or not self._exited():
            return None
        return self._reap()

    def command(self) -> list[str]:
        return [
            *celery_command(),
            "-A", self.app_module,
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-n", self.nodename,
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            *self.extra_args,
        ]

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_text()
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- worker log {self.log_path} (last {lines} lines) ---\n{tail}\n--- end of worker log ---"

    # -- life cycle --------------------------------------------------------------------

    def start(self, *, purge: bool = False) -> CeleryWorkerProcess:
        """Start the worker and return once it is ready to consume (or raise WorkerStartError).

        ``purge=True`` first empties the broker's task queues (see :func:`purge_broker`);
        leave it off when restarting a worker that should pick up messages left by the
        previous one.
        """
        if self.alive:
            raise RuntimeError(f"worker {self.nodename} is already running (pid {self.pid})")
        if self.celery_app is not None:
            if purge:
                purge_broker(self.celery_app)
            prepare_result_backend(self.celery_app)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.log_path = self.log_dir / f"{self.nodename.split('@')[0]}-{self.starts}.log"
        environ = dict(os.environ if self.env is None else self.env)
        environ["PYTHONUNBUFFERED"] = "1"
        libc = _load_libc()
        preexec = functools.partial(_die_with_parent, os.getpid(), libc) if libc is not None else None
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                env=environ,
                cwd=self.log_dir,  # a neutral folder: nothing importable from the current directory
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )
        try:
            self.wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match:
        """Poll the log until ``pattern`` appears; fail with the log tail after ``timeout``.

        A task's effects (its database rows) are visible before the worker has logged its
        outcome, so a test reading the log right after seeing the effects must wait for it.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.log_text())
            if match:
                return match
            if time.monotonic() >= deadline or not self.alive:
                raise AssertionError(f"{pattern!r} not in the worker log after {timeout:g} s.\n{self.log_tail()}")
            time.sleep(_POLL_INTERVAL)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Poll the log for ``<nodename> ready.`` until the deadline; fail with the log tail."""
        timeout = self.ready_timeout if timeout is None else timeout
        ready = re.compile(rf"{re.escape(self.nodename)} ready\.")
        deadline = time.monotonic() + timeout
        while True:
            if ready.search(self.log_text()):
                return
            if self._exited():
                code = self._reap()
                raise WorkerStartError(
                    f"Celery worker {self.nodename} exited with code {code} before it was ready.\n"
                    f"{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise WorkerStartError(
                    f"Celery worker {self.nodename} not ready after {timeout:g} s.\n{self.log_tail()}")
            time.sleep(_POLL_INTERVAL)

    def stop(self, timeout: float | None = None) -> int | None:
        """Warm shutdown: SIGTERM to the process group, wait, then SIGKILL. Returns the exit code.

        Safe to call at any time (not started, already stopped, already dead).
        """
        if self.process is None:
            return None
        timeout = self.stop_timeout if timeout is None else timeout
        if not self._exited():
            self._signal_group(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self._signal_group(signal.SIGKILL)
                self._wait_exit(KILL_TIMEOUT)
        return self._reap()

    def kill(self) -> int | None:
        """SIGKILL the worker's process group at once (a crash: no ack, no cleanup)."""
        if self.process is None:
            return None
        if not self._exited():
            self._signal_group(signal.SIGKILL)
            self._wait_exit(KILL_TIMEOUT)
        return self._reap()

    def restart(self, *, purge: bool = False) -> CeleryWorkerProcess:
        """Stop the worker if it runs (warm), then start it again under the same node name."""
        self.stop()
        return self.start(purge=purge)

    def __enter__(self) -> CeleryWorkerProcess:
        if not self.alive:
            self.start(purge=True)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------

    def _exited(self) -> bool:
        """Has the worker exited? Does not reap it, so its pid (= process group id) stays ours."""
        if self.process.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # already reaped elsewhere
            return self.process.poll() is not None
        return info is not None and info.si_pid == self.process.pid

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL)
        return True

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def _reap(self) -> int | None:
        """Kill whatever is left in the worker's process group, then reap the worker."""
        if self.process.returncode is None:
            # The leader is a zombie (or still running) so the group id cannot have been reused.
            self._signal_group(signal.SIGKILL)
            try:
                self.process.wait(timeout=KILL_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        return self.process.returncode
