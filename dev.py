#!/usr/bin/env python3
"""Set up and run the platform, or its test suite, with nothing but Python 3.11+.

    python3 dev.py run     # venv + dependencies + schema + demo data, then web + Celery worker + beat
    python3 dev.py test    # venv + dependencies (+ Chromium for the browser tests), then the whole test suite

Only the standard library is used here, because this script is what creates the
virtual environment. It reinstalls dependencies when setup.cfg changes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".asll-installed"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def ensure_environment() -> None:
    """Create .venv and install the project with its test extras when needed."""
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 ou plus récent est nécessaire.")
    if not PYTHON.exists():
        say("création de l'environnement virtuel .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    wanted = hashlib.sha256(
        b"".join((ROOT / name).read_bytes() for name in ("setup.cfg", "pyproject.toml"))
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installation des dépendances (première fois ou setup.cfg modifié)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip>=23.1"], check=True)
    subprocess.run([*pip, "install", "-e", ".[test]"], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def env(**extra: str) -> dict[str, str]:
    result = dict(os.environ)
    result.setdefault("FLASK_APP", "asll.app:create_app")
    result.setdefault("ASLL_INSTANCE_PATH", str(ROOT / "instance"))  # the default is ./instance of the cwd
    result["PATH"] = f"{BIN}{os.pathsep}{result.get('PATH', '')}"
    result.update(extra)
    return result


def flask(*args: str, environ: dict[str, str]) -> None:
    subprocess.run([str(BIN / "flask"), *args], check=True, cwd=ROOT, env=environ)


def run(port: int) -> int:
    ensure_environment()
    environ = env(ASLL_ENV=os.environ.get("ASLL_ENV", "development"),
                  ASLL_BASE_URL=os.environ.get("ASLL_BASE_URL", f"http://127.0.0.1:{port}"))
    say("mise à jour du schéma de la base de données")
    flask("db", "upgrade", "heads", environ=environ)
    say("données de démonstration")
    flask("asll", "demo-data", environ=environ)
    processes = {
        "worker+beat": subprocess.Popen(
            [str(BIN / "celery"), "-A", "asll_tasks.worker", "worker", "--beat", "--loglevel=INFO",
             "--concurrency=2"],
            cwd=ROOT, env=environ, start_new_session=True,
        ),
        "web": subprocess.Popen(
            [str(BIN / "waitress-serve"), f"--listen=127.0.0.1:{port}", "--threads=8", "asll.wsgi:app"],
            cwd=ROOT, env=environ, start_new_session=True,
        ),
    }
    say(f"plateforme démarrée : http://127.0.0.1:{port}/ (Ctrl+C pour arrêter)")

    def stop(*_args) -> None:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    say(f"le processus « {name} » s'est arrêté (code {process.returncode}) ; arrêt de la plateforme")
                    stop()
                    return process.returncode or 1
            time.sleep(1)
    except KeyboardInterrupt:
        stop()
        return 0


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> bool:
    """The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).

    Installed with apt when missing and running as root; otherwise say how, in French and
    English, and let the suite run (the browser tests then fail with the same message).
    """
    if CHROMIUM.exists():
        return True
    command = "apt-get update -qq && apt-get install -y -qq chromium"
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installation de Chromium pour les tests dans le navigateur / installing Chromium for the browser tests")
        result = subprocess.run(["sh", "-c", command], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if result.returncode == 0 and CHROMIUM.exists():
            return True
        say(f"échec de l'installation de Chromium (code {result.returncode}) / Chromium installation failed")
    say("Chromium est absent (/usr/bin/chromium) : les tests « browser » échoueront. Installez-le en root : "
        f"« {command} ».")
    say("Chromium is missing (/usr/bin/chromium): the browser tests will fail. Install it as root: "
        f"`{command}`.")
    return False


def test(pytest_args: list[str]) -> int:
    ensure_environment()
    ensure_chromium()
    environ = env()
    # Tests build their own instance folders; never touch the developer's instance/.
    environ.pop("DATABASE_URL", None)
    command = [str(PYTHON), "-m", "pytest", *pytest_args]
    say("tests : " + " ".join(command[2:]) + (
        f" (base : {environ['ASLL_TEST_DATABASE_URL']})" if environ.get("ASLL_TEST_DATABASE_URL") else " (SQLite)"))
    return subprocess.run(command, cwd=ROOT, env=environ).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="installer et lancer la plateforme (web + worker + beat)")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    sub.add_parser("test", help="installer et lancer toute la suite de tests (arguments passés à pytest)")
    sub.add_parser("clean", help="supprimer .venv et instance/")
    args, rest = parser.parse_known_args()
    if args.command == "run":
        return run(args.port)
    if args.command == "test":
        return test(rest)
    for path in (VENV, ROOT / "instance"):
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
