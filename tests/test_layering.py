"""Import layering: imports go down the floors only, no module-level import circles, the core stays light.

The package is a house of floors (docs: developers' guide, "models → info/relay → knockout → widgets").
A room (a top-level module or subpackage of relaywidgets) may import rooms on lower floors; rooms on the
same floor are independent of each other (torch-facing ``models`` and numpy-only ``relay`` share a floor
and never import each other), except on the front-door floor. The imports are read statically with
``ast`` from every file, at module level and inside functions alike; imports under
``if TYPE_CHECKING:`` are annotations only and exempt.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = "relaywidgets"
SOURCE = Path(__file__).resolve().parents[1] / PACKAGE

#: Floors, lowest first: room names (a module ``x.py`` and a package ``x/`` are the same room).
FLOORS: list[tuple[str, set[str]]] = [
    ("ground", {"_version", "errors"}),
    ("input checks", {"_validation", "_files", "_resources", "_cluster"}),
    ("data contracts", {"contract"}),
    ("recordings from arrays", {"recording_arrays"}),
    ("numerical core", {"info", "metrics", "tasks", "data", "testing"}),
    ("model and relay search", {"models", "relay"}),
    ("recording stores", {"recording_store"}),
    ("tools on the model", {"training", "serialization", "recording"}),
    ("knockout experiments", {"knockout"}),
    ("shipped networks", {"pretrained"}),
    ("sweeps", {"sweep"}),
    ("figures", {"plot"}),
    ("widgets", {"widgets"}),
    ("teaching", {"course"}),
    ("front door", {"__init__", "cli", "__main__"}),
]
#: Floors whose rooms may import each other (the command line uses the package's front door).
OPEN_FLOORS = {"front door"}
#: Upward imports that are allowed, each with its reason. Nothing else may go up.
ALLOWED_UPWARD = {
    ("knockout", "plot"): "relaywidgets.knockout.plot_knockout_test, an alias kept for old code, imports the "
    "figure at call time",
}

FLOOR_OF = {room: i for i, (_, rooms) in enumerate(FLOORS) for room in rooms}
FLOOR_NAME = {i: name for i, (name, _) in enumerate(FLOORS)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(module: str) -> bool:
    return (SOURCE.parent / module.replace(".", "/") / "__init__.py").exists()


def _exists(module: str) -> bool:
    return _is_package(module) or (SOURCE.parent / (module.replace(".", "/") + ".py")).exists()


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _parse(path: Path) -> ast.AST:
    """``ast.parse``, retried: CPython 3.11's AST conversion can raise a spurious ``SystemError`` ("AST
    constructor recursion depth mismatch", python/cpython#106905) while another thread, such as a Dask worker
    thread left by an earlier test, is parsing too. The error is not about the file; a retry parses it."""
    source = path.read_text(encoding="utf-8")
    for attempt in range(5):
        try:
            return ast.parse(source, filename=str(path))
        except SystemError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported relaywidgets module, at module level?, line) for every import in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        # `from pkg import sub` imports the submodule pkg.sub; `from pkg import name` imports pkg
        subs = [f"{origin}.{alias.name}" for alias in node.names if _exists(f"{origin}.{alias.name}")]
        return subs if len(subs) == len(node.names) else [origin, *subs]

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other, top)
                continue  # annotations only: never executed
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((t, top, child.lineno) for t in targets(child) if t.split(".")[0] == PACKAGE)
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(_parse(path), True)
    return found


def _graph() -> dict[str, list[tuple[str, bool, int]]]:
    return {_module_name(p): _imports(p) for p in sorted(SOURCE.rglob("*.py"))}


def test_every_room_has_a_floor():
    rooms = {_room(m) for m in _graph()}
    unplaced = sorted(rooms - set(FLOOR_OF))
    assert not unplaced, f"Place the new room(s) {unplaced} on a floor in tests/test_layering.py FLOORS."


def test_imports_go_down_the_floors_only():
    bad = []
    for module, imports in _graph().items():
        room = _room(module)
        for target, _, line in imports:
            other = _room(target)
            if other == room or (room, other) in ALLOWED_UPWARD:
                continue
            mine, theirs = FLOOR_OF[room], FLOOR_OF[other]
            if theirs > mine or (theirs == mine and FLOOR_NAME[mine] not in OPEN_FLOORS):
                bad.append(
                    f"{module}:{line} imports {target} ({FLOOR_NAME[theirs]} floor) from the "
                    f"{FLOOR_NAME[mine]} floor"
                )
    assert not bad, "Imports against the layering:\n" + "\n".join(bad)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return out


def test_cycle_finder_finds_circles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_at_module_level():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imports in _graph().items():
        edges[module] |= {target for target, top, _ in imports if top and target != module}
    circles = _cycles(dict(edges))
    assert not circles, f"Module-level import circles: {circles}; import one side inside a function or split a module."


def test_the_layering_test_sees_function_level_and_skips_type_checking_imports(tmp_path):
    source = SOURCE / "knockout" / "__init__.py"
    found = {(target, top) for target, top, _ in _imports(source)}
    assert ("relaywidgets.plot", False) in found  # the call-time alias, seen as a function-level import
    assert ("relaywidgets.models.plan", True) in found


# ------------------------------------------------------------------------------------------------
# what an import actually loads


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_package_root_is_light():
    loaded = _loaded_after("import relaywidgets")
    assert not {"torch", "ipywidgets", "bqplot", "matplotlib", "xarray"} & loaded


@pytest.mark.parametrize("module", ["relaywidgets.info", "relaywidgets.relay", "relaywidgets.recording",
                                    "relaywidgets.knockout", "relaywidgets.models"])
def test_core_does_not_import_widgets(module):
    pytest.importorskip(module)
    loaded = _loaded_after(f"import {module}")
    assert not {"ipywidgets", "bqplot", "matplotlib"} & loaded, module


def test_model_does_not_load_the_experiment():
    loaded = _loaded_after("import relaywidgets.models")
    assert not {m for m in loaded if m.startswith(("relaywidgets.knockout", "relaywidgets.relay"))}


def test_info_does_not_need_torch():
    pytest.importorskip("relaywidgets.info")
    assert "torch" not in _loaded_after("import relaywidgets.info")


def test_relay_analysis_on_numpy_never_loads_torch():
    # device="auto" imports torch to ask whether CUDA is there; device="numpy" needs no torch at all.
    code = (
        "import sys; from relaywidgets.testing import planted_relay; from relaywidgets.relay import find_relays; "
        "find_relays(planted_relay('single', n_samples=200, seed=0)[0], n_perm=0, progress=False, device='numpy'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False"
