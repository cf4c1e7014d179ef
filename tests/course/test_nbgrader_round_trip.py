"""The nbgrader round trip of every course lesson (issue 15's acceptance), and the format of the source notebooks.

For each lesson directory under ``notebooks/course/source/``, in a temporary copy of the course directory:
``nbgrader generate_assignment`` makes the student version; the instructor source is submitted as student
"instructor" and the generated student version, unanswered, as student "blank"; ``nbgrader autograde`` grades
both. The instructor gets full marks; the blank version scores 0 on every graded cell and runs without an error
in every cell that is neither a solution cell nor a graded test cell. New lessons are picked up automatically.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "notebooks" / "course"
LESSONS = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir() and not p.name.startswith("."))
# nbgrader starts one kernel per notebook; a lesson runs in under 30 s, two of them plus generation well
# under two minutes on a quiet 2-core machine. The limit leaves room for a busy one.
ROUND_TRIP_TIMEOUT = 900


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _notebooks(lesson: str) -> list[Path]:
    return sorted((COURSE / "source" / lesson).glob("*.ipynb"))


def test_lessons_were_found():
    assert {"01_information", "02_relays"} <= set(LESSONS), LESSONS


def test_some_tests_are_hidden():
    """Issue 15: autograded test cells, some hidden (in the instructor version only)."""
    hidden = [
        lesson
        for lesson in LESSONS
        for path in _notebooks(lesson)
        for c in nbformat.read(path, as_version=4).cells
        if _nbgrader_meta(c).get("grade") and "### BEGIN HIDDEN TESTS" in c.source
    ]
    assert hidden


@pytest.mark.parametrize("lesson", LESSONS)
def test_source_notebook_format(lesson: str):
    """Committed without outputs; every graded cell has points; grade_ids unique; solutions and tests present."""
    paths = _notebooks(lesson)
    assert len(paths) == 1, f"{lesson}: expected one notebook (the lesson), found {[p.name for p in paths]}"
    nb = nbformat.read(paths[0], as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{lesson}: use the 'python3' kernel"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (
        f"{lesson}: code cells {dirty} hold outputs or execution counts. Clear them before committing "
        "(JupyterLab: Edit > Clear Outputs of All Cells, then save)."
    )
    ids = [m["grade_id"] for m in map(_nbgrader_meta, nb.cells) if m]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"{lesson}: grade_ids used more than once: {duplicated}"
    graded = [c for c in nb.cells if _nbgrader_meta(c).get("grade")]
    assert graded, f"{lesson}: no graded cells"
    for c in graded:
        meta = _nbgrader_meta(c)
        assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, (
            f"{lesson}: graded cell {meta.get('grade_id')!r} has no positive 'points'"
        )
        assert meta.get("schema_version") == 3
    solutions = [c for c in nb.cells if _nbgrader_meta(c).get("solution")]
    assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions), (
        f"{lesson}: every solution cell needs a '### BEGIN SOLUTION' region"
    )
    assert "set_num_threads(1)" in "".join(c.source for c in nb.cells if c.cell_type == "code")


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs alembic (database migrations) as a program: this environment's bin/ must be on PATH.
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"],
        check=False,  # the assertion below shows nbgrader's output
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=ROUND_TRIP_TIMEOUT,
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return proc


def _copy_course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(
        COURSE,
        root,
        ignore=shutil.ignore_patterns(
            "release", "submitted", "autograded", "feedback", "gradebook.db*", ".ipynb_checkpoints", "runs"
        ),
    )
    return root


def _error_outputs(cell) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(ROUND_TRIP_TIMEOUT)
@pytest.mark.parametrize("lesson", LESSONS)
def test_nbgrader_round_trip(lesson: str, tmp_path: Path):
    pytest.importorskip("nbgrader")
    from nbgrader.api import Gradebook

    root = _copy_course(tmp_path)
    _nbgrader(root, "generate_assignment", lesson, "--force")
    (name,) = [p.name for p in _notebooks(lesson)]
    released = root / "release" / lesson / name
    assert released.exists(), f"generate_assignment wrote no {released}"
    student = nbformat.read(released, as_version=4)
    leaked = [
        _nbgrader_meta(c).get("grade_id")
        for c in student.cells
        if "### BEGIN SOLUTION" in c.source or "### BEGIN HIDDEN TESTS" in c.source
    ]
    assert not leaked, f"{lesson}: the student version still shows solutions or hidden tests in {leaked}"
    unanswered = [c for c in student.cells if _nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert unanswered and all("raise NotImplementedError()" in c.source for c in unanswered)

    for who, source in (("instructor", root / "source" / lesson / name), ("blank", released)):
        target = root / "submitted" / who / lesson
        target.mkdir(parents=True)
        shutil.copy2(source, target / name)
    _nbgrader(root, "autograde", lesson, "--force")

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = {}
        for who in ("instructor", "blank"):
            sub = gb.find_submission(lesson, who)
            scores[who] = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades}
    graded_ids = list(scores["instructor"])
    assert graded_ids, f"{lesson}: the gradebook holds no graded cells"
    source_nb = nbformat.read(root / "source" / lesson / name, as_version=4)
    points = {m["grade_id"]: m["points"] for m in map(_nbgrader_meta, source_nb.cells) if m.get("grade")}
    assert {g: s[1] for g, s in scores["instructor"].items()} == pytest.approx(points)

    lost = {g: s for g, s in scores["instructor"].items() if s[0] != s[1]}
    autograded_instructor = nbformat.read(root / "autograded" / "instructor" / lesson / name, as_version=4)
    errors = {
        _nbgrader_meta(c).get("grade_id", i): _error_outputs(c)
        for i, c in enumerate(autograded_instructor.cells)
        if _error_outputs(c)
    }
    assert not lost, f"{lesson}: the instructor version lost points on {lost}; errors in cells: {errors}"
    assert not errors, f"{lesson}: the instructor version has errors: {errors}"

    scored = {g: s for g, s in scores["blank"].items() if s[0] != 0}
    assert not scored, f"{lesson}: the unanswered student version scored points on {scored}"
    assert set(scores["blank"]) == set(graded_ids)

    blank = nbformat.read(root / "autograded" / "blank" / lesson / name, as_version=4)
    outside = {}
    for i, cell in enumerate(blank.cells):
        meta = _nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        if _error_outputs(cell):
            outside[meta.get("grade_id", f"cell {i}")] = _error_outputs(cell)
    assert not outside, (
        f"{lesson}: in the unanswered student version these cells, neither solutions nor graded tests, fail "
        f"(they must not depend on the student's answers): {json.dumps(outside, indent=1)[:4000]}"
    )
    # Every graded cell of the blank version failed visibly (NotImplementedError or NameError), not silently.
    graded_cells = [c for c in blank.cells if _nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    assert all(_error_outputs(c) for c in graded_cells)
