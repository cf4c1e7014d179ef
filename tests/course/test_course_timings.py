"""benchmarks/course_timings.py: finds every lesson and rewrites only its marked section of docs/benchmarks.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "course_timings.py"


@pytest.fixture(scope="module")
def timings():
    spec = importlib.util.spec_from_file_location("course_timings", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_lesson_is_timed(timings):
    source = ROOT / "notebooks" / "course" / "source"
    assert timings.lessons() == sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    assert {"01_information", "02_relays"} <= set(timings.lessons())


def test_section_is_appended_then_replaced_in_place(timings, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nintro\n\n## Later section\n\nkept\n")
    first = timings.table([("01_information", [9.0], ""), ("02_relays", [150.0], "")], "x86_64, 2 cores", 1)
    timings.write_section(first, doc)
    text = doc.read_text()
    assert text.count(timings.START) == 1 and text.count(timings.END) == 1
    assert "| `01_information` | 9.0 | " in text and "met" in text
    assert "| `02_relays` | 150.0 | " in text and "over the 120 s limit" in text
    assert "kept" in text

    second = timings.table([("01_information", [8.0, 7.0, 12.0], "CellExecutionError: boom")], "elsewhere", 3)
    timings.write_section(second, doc)
    text = doc.read_text()
    assert text.count(timings.START) == 1 and "02_relays" not in text and "x86_64" not in text
    assert "| `01_information` | 8.0 | " in text and "failed (CellExecutionError: boom)" in text
    assert "median of 3 runs" in text
    assert text.startswith("# Benchmarks\n\nintro\n\n## Later section\n\nkept\n")


def test_unknown_lesson_is_refused(timings, capsys):
    with pytest.raises(SystemExit):
        timings.main(["--lessons", "99_nothing", "--no-write"])
    assert "unknown lesson" in capsys.readouterr().err
