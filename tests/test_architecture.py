"""Layering (STYLE.md §1): forbidden imports found with ast, a cheap `import router`, and a clean ruff run."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Only these may import aiohttp: the transport seam, the emulator (the other side) and the gateway (a server).
AIOHTTP_ALLOWED = {"router/transport.py"}
AIOHTTP_ALLOWED_DIRS = ("router/emulator/", "router/gateway/")


def sources(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, anywhere in the file (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value.split(".")[0])
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def offenders(package: str, forbidden: set[str]) -> list[str]:
    return [f"{rel(p)} imports {sorted(imported_modules(p) & forbidden)}"
            for p in sources(package) if imported_modules(p) & forbidden]


def test_the_packages_exist() -> None:
    for package in ("router", "vendors", "pricing"):
        assert any(sources(package)), package


def test_pricing_imports_neither_vendors_nor_router() -> None:
    assert offenders("pricing", {"vendors", "router"}) == []


def test_vendors_never_imports_router() -> None:
    assert offenders("vendors", {"router"}) == []


def test_emulator_imports_no_farebox_module() -> None:
    # The emulator is an independent judge of the wire (router/emulator/__init__.py).
    bad = [f"{rel(p)}: {sorted(imported_modules(p) & {'router', 'vendors', 'pricing'})}"
           for p in (ROOT / "router" / "emulator").rglob("*.py")
           if imported_modules(p) & {"router", "vendors", "pricing"}]
    assert bad == []


def test_only_transport_and_emulator_import_aiohttp() -> None:
    bad = []
    for package in ("router", "vendors", "pricing"):
        for path in sources(package):
            name = rel(path)
            allowed = name in AIOHTTP_ALLOWED or name.startswith(AIOHTTP_ALLOWED_DIRS)
            if not allowed and "aiohttp" in imported_modules(path):
                bad.append(name)
    assert bad == []


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import aiohttp.web\n    from router.api import x\n"
                      "    importlib.import_module('pricing.cost')\n")
    assert imported_modules(sample) == {"aiohttp", "router", "pricing"}


def test_import_router_is_cheap() -> None:
    code = (
        "import sys, router\n"
        "heavy = [m for m in ('aiohttp', 'pydantic', 'tiktoken', 'tenacity') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = set(filter(None, proc.stdout.strip().split(",")))
    assert loaded.isdisjoint({"aiohttp", "pydantic", "tiktoken"}), loaded


def test_router_public_names_resolve() -> None:
    import router

    for name in router.__all__:
        assert getattr(router, name) is not None, name


def test_ruff_clean() -> None:
    # ruff comes with the dev extra, in the same environment as this interpreter.
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", ".", "--output-format", "concise"], cwd=ROOT,
                          capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
