"""The shape of the tree (README "Architecture"): small modules, no private names borrowed
across modules, and an orbit package that runs without Django."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("zenith", "ops", "orbital", "telemetry", "scheduling")
MAX_LINES = 500


def _modules() -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every Python module in the Zenith packages, migrations aside."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _private_uses(module: str, path: Path) -> list[tuple[int, str]]:
    """``from a.b import _x`` and ``b._x`` (``b`` an imported Zenith module) outside ``a.b``:
    (line, the private name in full)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    modules: dict[str, str] = {}  # local name -> the Zenith module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            if not _ours(source):
                continue
            for alias in node.names:
                if _is_module(f"{source}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
                if _is_private(alias.name) and source != module:
                    found.append((node.lineno, f"{source}.{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    local = alias.asname or alias.name.split(".")[0]
                    modules[local] = alias.name if alias.asname else local
                    if any(_is_private(part) for part in alias.name.split(".")):
                        found.append((node.lineno, alias.name))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _is_private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append((node.lineno, f"{modules[node.value.id]}.{node.attr}"))
    return found


def test_the_scan_sees_the_tree() -> None:
    names = {name for name, _ in _modules()}
    assert len(names) > 80
    assert {"zenith.registry", "ops.edge.live", "orbital.passes", "scheduling.services"} <= names
    assert not [name for name in names if ".migrations" in name]


def test_no_module_is_over_500_lines() -> None:
    long = {
        f"{path.relative_to(ROOT)} ({count} lines)"
        for _, path in _modules()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, "split these into a package with a module per topic"


def test_no_module_uses_another_modules_private_names() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for module, path in _modules()
        for line, name in _private_uses(module, path)
    ]
    assert not offences, "make the name public or move the code:\n" + "\n".join(offences)


def test_the_private_name_check_finds_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from zenith.registry import _registry, live_topic\n"
        "from . import _helpers\n"
        "from ops.edge import live\n"
        "from ops.fleet.models import Spacecraft\n"
        "import telemetry._secret\n"
        "from __future__ import annotations\n"
        "from os import _exit\n"
        "live._kind('x')\n"
        "live.publish.__name__\n"
        "Spacecraft._meta\n"  # a class's attribute, not a module's private name
    )
    found = [name for _, name in _private_uses("ops.console.sample", sample)]
    assert found == [
        "zenith.registry._registry",
        "ops.console._helpers",
        "telemetry._secret",
        "ops.edge.live._kind",
    ]


def test_orbital_imports_without_django() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, orbital.passes, orbital.eclipses, orbital.tle, orbital.elements\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'channels', 'celery', 'zenith', 'ops', "
        "'telemetry', 'scheduling'})\n"
        "print(','.join(loaded) or 'none')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"
