"""Layering (STYLE.md §1): the project import graph (no cycles, no layer violations, lazy imports explained),
the pinned public names, a cheap `import router`, and a clean ruff run."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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


# The exported members, pinned: a change here is a change to the public API (/work/shared/API.md).
PUBLIC = {
    "router": ["Attempt", "Budget", "CallRecord", "Chunk", "Message", "Response", "Router", "SpendRow", "Usage",
               "aclose", "acompletion", "add_listener", "aflush", "completion", "completion_cost", "configure",
               "errors", "flush", "metrics", "remove_listener", "spend"],
    "vendors": ["VendorSpec", "Wire", "detect", "effort_levels", "errors", "get", "models", "names",
                "normalize_effort"],
    "pricing": ["AmbiguousModelPrice", "Cost", "ModelPrice", "PricingError", "Tier", "UnknownModelPrice", "cost",
                "count_tokens", "encoding_name_for", "estimate_usage", "load_overrides", "models",
                "preload_encodings", "price", "reset_overrides"],
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_exported_members_are_pinned_and_resolve(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__) == PUBLIC[package]
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
        assert name in dir(module), f"{package}.{name} missing from dir()"


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_one_lazy_export_idiom(package: str) -> None:
    # The same shape in every package: _LAZY maps a name to (module, attribute or None for the module itself).
    module = importlib.import_module(package)
    lazy = module._LAZY
    assert all(isinstance(v, tuple) and len(v) == 2 for v in lazy.values()), package
    assert callable(module.__getattr__) and callable(module.__dir__)
    with pytest.raises(AttributeError, match="no attribute"):
        module.__getattr__("no_such_name")


# ── the import graph ─────────────────────────────────────────────────────────────────────────────
PROJECT = ("router", "vendors", "pricing")
LAZY_COMMENT = "# lazy:"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PROJECT for p in sources(package)}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under `node` that runs (not under `if TYPE_CHECKING:`), and if inside a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child):
            for other in child.orelse:
                yield from _imports(other, in_function)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        yield from _imports(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))


def _known(name: str, modules: dict[str, Path]) -> str:
    """The project module `name` refers to: itself, or the nearest package or module containing it."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def import_edges(name: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for each project import in `path`.

    `from x import y` where x.y is a module counts as importing x.y; relative imports are resolved.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node, lazy in _imports(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parent = package[:len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for target in targets:
            if target.split(".")[0] in PROJECT:
                yield _known(target, modules), node.lineno, lazy


def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: {t for t, _, _ in import_edges(name, path, modules) if t != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    """router may import vendors and pricing; vendors may import pricing only for the model catalogue."""
    bad = []
    for source, targets in sorted(edges.items()):
        top = source.split(".")[0]
        for target in sorted(targets):
            other = target.split(".")[0]
            if top == "pricing" and other != "pricing":
                bad.append(f"{source} -> {target}: pricing imports neither vendors nor router")
            elif top == "vendors" and other == "router":
                bad.append(f"{source} -> {target}: vendors never imports router")
            elif (top == "vendors" and other == "pricing"
                  and source not in {"vendors.catalogue", "vendors.registry"}):
                bad.append(f"{source} -> {target}: only the model catalogue (vendors.catalogue, vendors.registry) "
                           f"may import pricing")
            elif source.startswith("router.emulator") and not target.startswith("router.emulator"):
                bad.append(f"{source} -> {target}: the emulator imports no Farebox module")
    return bad


def test_no_import_cycles() -> None:
    assert cycles(graph(MODULES)) == []


def test_no_layer_violations() -> None:
    assert layer_violations(graph(MODULES)) == []


def test_every_lazy_import_says_why() -> None:
    # Imports sit at the top of a module; one inside a function carries `# lazy: <reason>` on its line or on a
    # comment line just above its block of imports.
    bad = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for _target, lineno, lazy in import_edges(name, path, MODULES):
            i = lineno - 1
            while i > 0 and lines[i - 1].strip().startswith(("import ", "from ")) and LAZY_COMMENT not in lines[i]:
                i -= 1
            explained = LAZY_COMMENT in lines[i] or LAZY_COMMENT in lines[i - 1]
            if lazy and not explained:
                bad.append(f"{rel(path)}:{lineno}")
    assert bad == []


def test_the_graph_sees_function_level_submodule_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "router"
    pkg.mkdir()
    files = {"__init__.py": "", "a.py": "def f():\n    from router import b\n",
             "b.py": "from .c import thing\n", "c.py": "import router.a\nthing = 1\n",
             "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from router import a\n"}
    for file, text in files.items():
        (pkg / file).write_text(text)
    modules = {("router." + f[:-3]) if f != "__init__.py" else "router": pkg / f for f in files}
    edges = {n: {t for t, _, _ in import_edges(n, p, modules) if t != n} for n, p in modules.items()}
    assert edges["router.a"] == {"router.b"} and edges["router.b"] == {"router.c"}
    assert edges["router.d"] == set()  # TYPE_CHECKING imports never run
    assert cycles(edges) == [["router.a", "router.b", "router.c"]]
    assert layer_violations({"pricing.table": {"vendors.spec"}, "vendors.spec": {"pricing"},
                             "vendors.catalogue": {"pricing"}, "router.api": {"vendors.spec", "pricing"}}) == [
        "pricing.table -> vendors.spec: pricing imports neither vendors nor router",
        "vendors.spec -> pricing: only the model catalogue (vendors.catalogue, vendors.registry) may import pricing"]


def test_ruff_clean() -> None:
    # ruff comes with the dev extra, in the same environment as this interpreter.
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", ".", "--output-format", "concise"], cwd=ROOT,
                          capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
