"""The estimator registry lists five estimators with descriptions and citations; imports stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from relaywidgets.errors import InputError
from relaywidgets.info import Estimator, estimators, get_estimator
from relaywidgets.info.estimation import KSGEstimator


def test_registry_lists_five_estimators_in_order():
    regs = estimators()
    assert list(regs) == ["plugin", "miller-madow", "shrinkage", "gcmi", "ksg"]
    kinds = {name: e.kind for name, e in regs.items()}
    assert kinds == {
        "plugin": "discrete",
        "miller-madow": "discrete",
        "shrinkage": "discrete",
        "gcmi": "continuous",
        "ksg": "continuous",
    }
    for name, est in regs.items():
        assert isinstance(est, Estimator) and est.name == name
        assert est.description and "\n" not in est.description and len(est.description) < 140
        assert est.citation and any(str(year) in est.citation for year in range(1948, 2030))
    assert "Hausser" in regs["shrinkage"].citation and "2009" in regs["shrinkage"].citation
    assert "Ince" in regs["gcmi"].citation and "2017" in regs["gcmi"].citation
    assert "Kraskov" in regs["ksg"].citation and "Frenzel" in regs["ksg"].citation


def test_get_estimator_by_name_object_and_params():
    ksg = get_estimator("ksg", k=5)
    assert isinstance(ksg, KSGEstimator) and ksg.k == 5
    assert get_estimator(ksg) is ksg
    assert get_estimator(ksg, k=7).k == 7 and ksg.k == 5
    assert get_estimator("plugin") == get_estimator("plugin")
    assert "k=5" in repr(ksg)


def test_unknown_estimator_lists_the_valid_ones():
    with pytest.raises(InputError) as err:
        get_estimator("kraskov")
    for name in ["plugin", "miller-madow", "shrinkage", "gcmi", "ksg"]:
        assert repr(name) in str(err.value)
    with pytest.raises(InputError, match="unknown parameter"):
        get_estimator("ksg", kk=3)


def test_parameter_errors_have_the_scikit_learn_shape():
    import numpy as np

    x = np.random.default_rng(0).standard_normal(50)
    with pytest.raises(InputError, match=r"The 'k' parameter of KSG must be an int in \[1, inf\). Got 0 instead."):
        get_estimator("ksg", k=0).mutual_information(x, x)


def test_importing_info_loads_no_widget_plotting_or_torch_module():
    code = (
        "import sys, relaywidgets.info\n"
        "bad = [m for m in ('ipywidgets', 'bqplot', 'matplotlib', 'torch') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
