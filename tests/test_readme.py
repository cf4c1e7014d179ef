"""The README's promises hold: its API example runs, and its commands exist in the Makefile."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quickstart_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab", "app", "test", "demo"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no '{target}' target"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_api_example_runs():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the example's undersampling warnings are expected
        exec(compile(code, "README.md", "exec"), namespace)
    from relaywidgets.widgets import Explorer

    # The example's objects are what it says they are.
    assert dict(namespace["rec"].hidden.sizes) == {"node": 32, "time": 20, "sample": 1000}
    assert float((namespace["rec"].prediction == namespace["rec"].label).mean()) > 0.95
    assert set(namespace["relays"].concept.values) >= {"0", "1", "2", "3"}
    assert isinstance(namespace["rw"].explore(namespace["model"], namespace["X_test"][:50],
                                              namespace["y_test"][:50], n_perm=0, progress=False), Explorer)


def test_for_teachers_section_points_at_the_course_and_the_app():
    section = README.split("## For teachers", 1)[1].split("\n## ", 1)[0]
    assert "make app" in section and "notebooks/app.ipynb" in section
    assert (ROOT / "notebooks" / "app.ipynb").exists()
    for command in re.findall(r"nbgrader (\w+) (\w+)", section):
        assert (ROOT / "notebooks" / "course" / "source" / command[1]).is_dir(), f"no lesson {command[1]!r}"
    assert (ROOT / "notebooks" / "course" / "README.md").exists()
