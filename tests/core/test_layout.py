"""The layout's traps (ARCHITECTURE.md): no shadowed stdlib, no folder-path imports, every package shipped."""

import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_does_not_shadow_the_standard_library():
    result = subprocess.run(
        [sys.executable, "-c", "import uuid, platform, sysconfig; platform.system(); print(platform.__file__)"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert Path(result.stdout.strip()).parent == Path(__import__("sysconfig").get_paths()["stdlib"])


def _packages() -> dict[str, Path]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    mapping = {}
    for line in config["options"]["package_dir"].strip().splitlines():
        key, _, value = (part.strip() for part in line.partition("="))
        mapping[key] = value
    declared = {}
    for name in config["options"]["packages"].split():
        # The longest mapped prefix wins, as in setuptools ("asll.migrations = migrations").
        parts = name.split(".")
        for cut in range(len(parts), -1, -1):
            prefix = ".".join(parts[:cut])
            if prefix in mapping:
                declared[name] = ROOT / mapping[prefix] / Path(*parts[cut:])
                break
    return declared


def test_every_package_folder_is_in_the_distribution():
    declared = _packages()
    for name, folder in declared.items():
        # Data-only packages (templates, static files) are declared so that setuptools ships them
        # without its "Package would be ignored" warning; they hold no module and need no __init__.py.
        assert folder.is_dir(), f"{name} → {folder} does not exist"
        has_modules = any(folder.glob("*.py"))
        assert (folder / "__init__.py").exists() or not has_modules, f"{name} → {folder} has no __init__.py"
    roots = [ROOT / "platform" / "asll", ROOT / "tasks", ROOT / "migrations", *(ROOT / "plugins").iterdir()]
    on_disk = {p.parent for root in roots for p in root.rglob("__init__.py")}
    assert on_disk <= set(declared.values()), f"packages missing from setup.cfg: {on_disk - set(declared.values())}"


def _python_files():
    for folder in ("platform", "plugins", "tasks", "tests", "bench"):
        yield from (ROOT / folder).rglob("*.py")


def test_no_code_imports_plugins_or_tasks_by_folder_path():
    pattern = re.compile(r"^\s*(from|import)\s+(plugins|tasks)(\.|\s|$)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in _python_files() if pattern.search(p.read_text())]
    assert offenders == []


def test_the_core_never_imports_a_plugin_and_plugins_use_only_the_toolkit():
    plugin_import = re.compile(r"^\s*(from|import)\s+asll_(loire|orne|seine_maritime|moselle)", re.M)
    core = [p for p in (ROOT / "platform").rglob("*.py") if plugin_import.search(p.read_text())]
    assert core == []
    core_import = re.compile(r"^\s*(?:from|import)\s+(asll(?:\.[\w.]+)?)", re.M)
    for path in (ROOT / "plugins").rglob("*.py"):
        modules = set(core_import.findall(path.read_text()))
        assert modules <= {"asll.toolkit"}, f"{path.relative_to(ROOT)} imports {modules - {'asll.toolkit'}}"


def test_every_celery_task_has_an_explicit_name():
    for path in (ROOT / "tasks").rglob("*.py"):
        for decorator in re.findall(r"@(?:shared_task|celery_app\.task)\(([^)]*)\)", path.read_text()):
            assert 'name="asll.' in decorator, f"{path.name}: task without explicit name"
        assert not re.search(r"@shared_task\s*$", path.read_text(), re.M), f"{path.name}: bare @shared_task"
