"""The Binder environment (binder/) installs what pyproject.toml declares, with compatible versions."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _binder_requirements() -> tuple[dict[str, Requirement], list[str], list[Requirement]]:
    """Named requirements by canonical name, option lines, and local installs (``.[extra]``) of binder/."""
    named: dict[str, Requirement] = {}
    options: list[str] = []
    local: list[Requirement] = []
    for raw in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-e "):
            line = line[3:].strip()
        if line.startswith("-"):
            options.append(line)
        elif line.startswith("."):
            # ".[datasets,teach]" is the repository itself; parse its extras through a stand-in name
            local.append(Requirement("relaywidgets" + line[1:]))
        else:
            req = Requirement(line)
            name = canonicalize_name(req.name)
            assert name not in named, f"{req.name} is listed twice in binder/requirements.txt"
            named[name] = req
    return named, options, local


def _floor(spec: SpecifierSet) -> Version | None:
    """Lowest version a specifier set admits from below (its highest >=, ==, ~= or > bound)."""
    bounds = [Version(s.version) for s in spec if s.operator in (">=", "==", "~=", "===", ">")]
    return max(bounds) if bounds else None


def _runtime_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    # the extras Binder installs: the bundled data sets, and the teaching kit (Voila serves the app)
    for extra in ("datasets", "teach"):
        reqs += [Requirement(r) for r in project.get("optional-dependencies", {}).get(extra, [])]
    return reqs


def test_floor_helper():
    assert _floor(SpecifierSet(">=2.2,<3")) == Version("2.2")
    assert _floor(SpecifierSet("==2.13.0")) == Version("2.13.0")
    assert _floor(SpecifierSet("<3")) is None


def test_pyproject_declares_the_datasets_extra():
    extras = _pyproject()["project"].get("optional-dependencies", {})
    assert "datasets" in extras
    assert "aeon" in {canonicalize_name(Requirement(r).name) for r in extras["datasets"]}


def test_pyproject_declares_the_teach_extra_with_voila():
    extras = _pyproject()["project"].get("optional-dependencies", {})
    assert "teach" in extras
    assert "voila" in {canonicalize_name(Requirement(r).name) for r in extras["teach"]}


def _incompatibility(needed: Requirement, listed: Requirement | None) -> str | None:
    """Why Binder's ``listed`` requirement does not satisfy pyproject's ``needed`` one (None when it does)."""
    if listed is None:
        return f"{needed} (pyproject.toml) is missing from binder/requirements.txt"
    if not needed.specifier:
        return None
    floor = _floor(listed.specifier)
    if floor is None:
        return f"binder/requirements.txt lists {listed} without a lower bound, but pyproject.toml needs {needed}"
    # the oldest version Binder may install must satisfy pyproject
    if not needed.specifier.contains(floor, prereleases=True):
        return f"binder's {listed} admits {floor}, outside pyproject's {needed}"
    return None


@pytest.mark.parametrize(
    ("needed", "listed", "ok"),
    [
        ("torch>=2.2", "torch>=2.2", True),
        ("torch>=2.2", "torch==2.13.0", True),
        ("torch>=2.2", "torch>=2.4,<3", True),
        ("torch>=2.2", "torch>=2.0", False),
        ("torch>=2.2", "torch", False),
        ("torch>=2.2", "torch==2.1.0", False),
        ("torch>=2.2,<2.5", "torch>=2.6", False),
        ("tqdm", "tqdm>=4", True),
        ("tqdm>=4.60", None, False),
    ],
)
def test_incompatibility_rule(needed, listed, ok):
    result = _incompatibility(Requirement(needed), Requirement(listed) if listed else None)
    assert (result is None) == ok, result


@pytest.mark.parametrize("req", _runtime_requirements() if (ROOT / "pyproject.toml").exists() else [], ids=str)
def test_every_runtime_dependency_is_in_binder_with_a_compatible_version(req):
    named, _, _ = _binder_requirements()
    problem = _incompatibility(req, named.get(canonicalize_name(req.name)))
    assert problem is None, problem


def test_binder_installs_the_repository_with_the_datasets_and_teach_extras_and_cpu_torch():
    _, options, local = _binder_requirements()
    assert len(local) == 1, "binder/requirements.txt must install the repository itself ('.[datasets,teach]')"
    assert "datasets" in local[0].extras
    assert "teach" in local[0].extras, "the Binder link to the app needs Voila: install '.[datasets,teach]'"
    index_lines = [o.split() for o in options if o.startswith(("--extra-index-url", "--index-url"))]
    assert [CPU_INDEX] in [parts[1:] for parts in index_lines], (
        f"binder/requirements.txt must take torch from the CPU wheel index {CPU_INDEX}"
    )


def test_binder_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime.startswith("python-")
    version = Version(runtime.removeprefix("python-"))
    requires = SpecifierSet(_pyproject()["project"].get("requires-python", ""))
    # runtime.txt names a minor version (python-3.11): check its first patch release
    assert requires.contains(Version(f"{version.major}.{version.minor}.0"))
