"""Every docstring example of the package runs and prints what it says (doctest, module by module)."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import relaywidgets

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(relaywidgets.__path__, prefix="relaywidgets.")
    if not info.name.endswith("__main__")
)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    if not tests:
        pytest.skip(f"{name} has no examples")
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()[-6000:]
