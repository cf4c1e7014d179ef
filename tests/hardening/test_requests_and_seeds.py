"""Bounded requests and seeds (issue 14, cases 8 and 9): impossible sizes and bad seeds are refused up front."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import relaywidgets as rw
from relaywidgets import InputError
from relaywidgets._resources import available_memory, check_memory
from relaywidgets.knockout import relay_knockout_test
from relaywidgets.relay import find_relays
from relaywidgets.testing import planted_relay


@pytest.fixture(scope="module")
def trained():
    import torch

    torch.set_num_threads(1)
    X, y = rw.make_task("delayed-cue", 200, 6, seed=0)
    model = rw.RecurrentClassifier("gru", 4, 8, 4, device="cpu", seed=0)
    rw.train(model, X, y, epochs=20, lr=3e-2, batch_size=50, seed=0, progress=False)
    relays = find_relays(rw.record(model, X, y), n_perm=0, progress=False)
    return model, X, y, relays


def test_check_memory_names_the_numbers_and_the_fix():
    check_memory(1.0, "one byte", "nothing")
    if available_memory() is None:
        pytest.skip("this machine does not report its memory")
    with pytest.raises(InputError, match=r"would need about .* GiB of memory, more than .* Pass less"):
        check_memory(1e30, "a huge request", "Pass less.")


@pytest.mark.timeout(60)
def test_find_relays_refuses_an_impossible_number_of_permutations():
    if available_memory() is None:
        pytest.skip("this machine does not report its memory")
    rec, _ = planted_relay("and", n_nodes=4, n_samples=500)
    with pytest.raises(InputError, match=r"n_perm=1000000000000 permutations of 500 samples would need .* smaller n_perm"):
        find_relays(rec, n_perm=10**12, progress=False)


@pytest.mark.timeout(60)
def test_relay_knockout_test_refuses_an_impossible_number_of_random_sets(trained):
    if available_memory() is None:
        pytest.skip("this machine does not report its memory")
    model, X, y, relays = trained
    with pytest.raises(InputError, match=r"n_random=1000000000 random sets .* smaller n_random"):
        relay_knockout_test(model, X, y, relays, concept=1, n_random=10**9, significant_only=False)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_relay_knockout_test_checks_its_seed(trained, seed):
    model, X, y, relays = trained
    with pytest.raises(InputError, match="The 'seed' parameter of relay_knockout_test must be an int in \\[0, inf\\)"):
        relay_knockout_test(model, X, y, relays, concept=1, n_random=3, seed=seed, significant_only=False)


@pytest.mark.parametrize("seed", [-1, 1.5, None, "0", np.float64(2.0)])
def test_make_task_checks_its_seed(seed):
    with pytest.raises(InputError, match="The 'seed' parameter of make_task must be an int in \\[0, inf\\)"):
        rw.make_task("delayed-cue", 4, 5, seed=seed)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", 2**64])
def test_recurrent_classifier_checks_its_seed(seed):
    with pytest.raises(InputError, match="The 'seed' parameter of RecurrentClassifier must be None or an int"):
        rw.RecurrentClassifier("gru", 2, 3, 2, device="cpu", seed=seed)
    a = rw.RecurrentClassifier("gru", 2, 3, 2, device="cpu", seed=np.int64(4))
    b = rw.RecurrentClassifier("gru", 2, 3, 2, device="cpu", seed=4)
    assert all((p == q).all() for p, q in zip(a.parameters(), b.parameters()))


def test_the_explorers_random_control_checks_its_seed(trained):
    pytest.importorskip("ipywidgets")
    from relaywidgets.widgets import ExplorerState
    from relaywidgets.widgets.state import ExplorerStateError

    model, X, y, relays = trained
    state = ExplorerState(rw.record(model, X, y), relays, model=model)
    for seed in (-1, 1.5, "2"):
        with pytest.raises(ExplorerStateError, match="'seed' parameter of ExplorerState must be None or an int"):
            state.random_control(size=2, seed=seed)
    with pytest.raises(ExplorerStateError, match="'random_seed' parameter of ExplorerState must be an int in \\[0"):
        state.random_seed = -5
    assert state.random_seed == 0 and len(state.random_control(size=2, seed=7)) == 2


@pytest.mark.parametrize("seed", ["-3", "1.5", "x"])
def test_the_cli_checks_its_seed(seed, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "relaywidgets", "demo", "--seed", seed, "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2 and "argument --seed: must be an integer >= 0" in run.stderr, run.stderr[-1000:]
    assert "Traceback" not in run.stderr


def test_effect_maps_refuse_an_impossible_number_of_bootstrap_resamples():
    from relaywidgets import RecurrentClassifier, make_task
    from relaywidgets.knockout import effect_map, unit_effects

    X, y = make_task("delayed-cue", n_samples=20, seq_len=4, seed=0)
    model = RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0)
    for fn in (effect_map, unit_effects):
        with pytest.raises(InputError, match="n_boot=10000000000000.*GiB of memory.*smaller n_boot"):
            fn(model, X, y, n_boot=10**13, progress=False)


def test_deletion_curves_refuse_an_impossible_number_of_random_orderings():
    from relaywidgets import RecurrentClassifier, make_task
    from relaywidgets.knockout import deletion_curve

    X, y = make_task("delayed-cue", n_samples=20, seq_len=4, seed=0)
    model = RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0)
    with pytest.raises(InputError, match="n_random=10000000000000.*GiB of memory.*smaller n_random"):
        deletion_curve(model, X, y, "readout", 1, n_random=10**13, progress=False)
