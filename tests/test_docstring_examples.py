"""Every docstring example of the package runs and prints what it says (doctest, module by module)."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import relaywidgets

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _examples(name: str) -> list[doctest.DocTest]:
    return [t for t in doctest.DocTestFinder().find(importlib.import_module(name), name) if t.examples]


# Every module of the package with at least one example (imported once, at collection).
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(relaywidgets.__path__, prefix="relaywidgets.")
    if not info.name.endswith("__main__") and _examples(info.name)
)


def test_the_examples_were_found():
    assert {"relaywidgets.knockout.effects", "relaywidgets.recording_arrays", "relaywidgets.training"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    tests = _examples(name)
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()[-6000:]
