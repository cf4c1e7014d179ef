"""The answer checks of lesson 3: right answers pass, and each common mistake fails with its hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from relaywidgets import make_task, record
from relaywidgets.course import AnswerError
from relaywidgets.course import knockouts as ko
from relaywidgets.errors import InputError
from relaywidgets.knockout import Knockout, effect_map, evaluate
from relaywidgets.relay import find_relays


@pytest.fixture(scope="module")
def lesson():
    """The lesson's single-latch network, its data, relays of class 1 and effect map (smaller sample)."""
    torch.set_num_threads(1)
    net = ko.latch_network()
    X, y = make_task("delayed-cue", n_samples=400, seq_len=10, n_classes=2, noise=0.1, seed=0)
    relays = find_relays(record(net, X, y), concepts=[1], n_perm=20, seed=0, progress=False)
    effects = effect_map(net, X, y, n_boot=0, progress=False)
    return net, X, y, relays, effects


def fails_with(hint_words: str, fn, *args, **kwargs) -> str:
    """Run a check that must fail; assert the message carries ``hint_words``; return the message."""
    with pytest.raises(AnswerError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert hint_words in message, message
    return message


def right_drop(model, X, y, units, times=None):
    intact = evaluate(model, X, y).class_accuracy
    return (intact - evaluate(model, X, y, knockout=Knockout(units, times=times)).class_accuracy).values


# ----------------------------------------------------------------------------------------------- the network


def test_latch_network_is_the_documented_wiring(lesson):
    net, X, y, _, _ = lesson
    assert float(evaluate(net, X, y).accuracy) == 1.0
    # Unit 0 latched, the readout reads only it: with unit 0 knocked out at the last step, class 1 is lost.
    assert right_drop(net, X, y, [0], [9]).tolist() == [0.0, 1.0]
    net2 = ko.latch_network(copies=2)
    assert torch.equal(net2.rnn.weight_ih_l0[0], net2.rnn.weight_ih_l0[1])
    assert net2.readout.weight[1, :2].tolist() == [2.5, 2.5]


@pytest.mark.parametrize("kwargs", [{"copies": 0}, {"copies": 6}, {"hidden_size": 1.5}, {"copies": True}])
def test_latch_network_refuses_bad_sizes(kwargs):
    with pytest.raises(InputError, match="latch_network"):
        ko.latch_network(**kwargs)


# ------------------------------------------------------------------------------------------ exercise 1: drops


def test_class_drop_right_answer_passes(lesson):
    net, X, y, _, _ = lesson
    ko.check_class_drop(right_drop, net, X, y)
    ko.check_class_drop(right_drop, net, X, y, cases=[([3, 4], [2, 3]), ([0, 1], slice(5, None))])


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            lambda m, X, y, u, t=None: evaluate(m, X, y, knockout=Knockout(u, times=t)).class_accuracy.values,
            "accuracy *with* the knockout",
        ),
        (lambda m, X, y, u, t=None: -right_drop(m, X, y, u, t), "sign is flipped"),
        (lambda m, X, y, u, t=None: 100 * right_drop(m, X, y, u, t), "percentages"),
        (lambda m, X, y, u, t=None: right_drop(m, X, y, u, None), "Pass the steps on"),
        (lambda m, X, y, u, t=None: float(right_drop(m, X, y, u, t).mean()), "single number"),
        (lambda m, X, y, u, t=None: None, "forget to return"),
        (lambda m, X, y, u, t=None: right_drop(m, X, y, u, t) + 0.3, "subtract its class_accuracy"),
    ],
)
def test_class_drop_mistakes_get_their_hint(lesson, wrong, hint):
    net, X, y, _, _ = lesson
    fails_with(hint, ko.check_class_drop, wrong, net, X, y)


def test_class_drop_needs_a_function(lesson):
    net, X, y, _, _ = lesson
    fails_with("should be a function", ko.check_class_drop, [0.0, 1.0], net, X, y)


# ------------------------------------------------------------------------------- exercise 2: the effect map


def test_one_step_predictions(lesson):
    net, X, y, _, _ = lesson
    ko.check_one_step_drops(0.5, 1.0, net, X, y)
    ko.check_one_step_drops(0.45, 0.98, net, X, y)  # within the tolerances
    fails_with("restarts, it is not erased", ko.check_one_step_drops, 1.0, 1.0, net, X, y)
    fails_with("coin flip", ko.check_one_step_drops, 0.0, 1.0, net, X, y)
    fails_with("argmax returns the first maximum", ko.check_one_step_drops, 0.5, 0.5, net, X, y)
    fails_with("should be a number", ko.check_one_step_drops, None, 1.0, net, X, y)
    fails_with("boolean", ko.check_one_step_drops, 0.5, True, net, X, y)


def test_off_target_predictions(lesson):
    net, X, y, _, _ = lesson
    share = float((y == 1).mean())
    ko.check_off_target(0.0, share, net, X, y)
    fails_with("tie-break hides it for class 0", ko.check_off_target, 1.0, share, net, X, y)
    fails_with("weighted by how many", ko.check_off_target, 0.0, 1.0, net, X, y)


# ------------------------------------------------------------------ exercise 3: information without effect


def test_relay_without_effect(lesson):
    _, _, _, relays, effects = lesson
    relay = [str(n) for n in relays.node.values[relays.is_relay.sel(concept="1", time=3).values]]
    truth = [n for n in relay if n != "l0.h0"]
    assert "l0.h0" in relay and truth, relay  # the setting the exercise relies on
    ko.check_relay_without_effect(truth, relays, effects)
    ko.check_relay_without_effect(list(reversed(truth)), relays, effects)  # order does not matter
    fails_with("Read the effect map", ko.check_relay_without_effect, relay, relays, effects)
    outside = next(str(n) for n in relays.node.values if str(n) not in relay)
    fails_with("not in the relay set", ko.check_relay_without_effect, [*truth, outside], relays, effects)
    fails_with("You missed", ko.check_relay_without_effect, truth[:-1], relays, effects)
    fails_with("not node labels", ko.check_relay_without_effect, ["h1"], relays, effects)
    fails_with("list of node labels", ko.check_relay_without_effect, None, relays, effects)


def test_relay_without_effect_accepts_unit_numbers(lesson):
    _, _, _, relays, effects = lesson
    relay = relays.is_relay.sel(concept="1", time=3).values
    ko.check_relay_without_effect([int(u) for u in np.flatnonzero(relay) if u != 0], relays, effects)


# ------------------------------------------------------------------------------ exercise 4: redundant latches


def test_redundant_latches(lesson):
    _, X, y, _, _ = lesson
    net2 = ko.latch_network(copies=2)
    ko.check_single_latch_drops({"l0.h0": 0.0, "l0.h1": 0.0}, net2, X, y)
    message = fails_with("margin", ko.check_single_latch_drops, {"l0.h0": 0.5, "l0.h1": 0.5}, net2, X, y)
    assert "other latch still holds the cue" in message
    fails_with("no entry for 'l0.h1'", ko.check_single_latch_drops, {"l0.h0": 0.0}, net2, X, y)
    fails_with("should be a dict", ko.check_single_latch_drops, [0.0, 0.0], net2, X, y)

    ko.check_redundant_causal_set(["l0.h0", "l0.h1"], net2, X, y)
    ko.check_redundant_causal_set(["l0.h1", "l0.h0"], net2, X, y)
    fails_with("single-unit effect map calls every unit unimportant", ko.check_redundant_causal_set, [], net2, X, y)
    fails_with("the second one knocked out", ko.check_redundant_causal_set, ["l0.h0"], net2, X, y)


# --------------------------------------------------------------------------- exercise 5: the p-value floor


def test_expected_p_matches_the_knockout_test(lesson):
    # The formula the check grades against agrees with relay_knockout_test's p-values on the lesson's
    # network, averaged over seeds (one unit of six is the only harmful set of its size).
    from relaywidgets.knockout import relay_knockout_test

    net, X, y, relays, _ = lesson
    ps = [
        float(relay_knockout_test(net, X, y, relays, concept=1, time=9, n_random=100, seed=s).p_value) for s in range(5)
    ]
    assert abs(np.mean(ps) - ko.expected_p_truth(6, 1, 100)) < 0.03


def test_expected_p():
    ko.check_expected_p(lambda n, k, r: (1 + r / math.comb(n, k)) / (1 + r))
    ko.check_expected_p(lambda n, k, r: (1 + r / math.comb(n, k)) / (1 + r), cases=[(32, 30, 100)])
    fails_with("the relay set itself", ko.check_expected_p, lambda n, k, r: 1 / (1 + r))
    fails_with("also counts the relay set itself", ko.check_expected_p, lambda n, k, r: 1 / math.comb(n, k))
    fails_with("contains a given unit", ko.check_expected_p, lambda n, k, r: (1 + r * k / n) / (1 + r))
    fails_with("n_random / comb", ko.check_expected_p, lambda n, k, r: 0.5)
    fails_with("should be a number", ko.check_expected_p, lambda n, k, r: "0.17")
    fails_with("should be a function", ko.check_expected_p, 0.17)


# ---------------------------------------------------------------------------- exercise 6: deletion curves


def _curve(areas, ps, first):
    names = ["aggregated_score", "readout", "grad_x_act", "effect"]
    return xr.Dataset(
        {
            "area": ("ranking", areas),
            "p_value": ("ranking", ps),
            "curve": (("ranking", "k"), [[f, 0.5] for f in first]),
        },
        coords={"ranking": names, "k": [1, 2]},
    )


@pytest.fixture
def curves():
    # Mean areas: aggregated 0.05, readout 0.10, grad_x_act 0.15 (the best method), effect 0.30 (the oracle).
    # At k = 1 readout hurts most among the methods. The relay ranking: p < 0.05 for class 0 only, but a
    # positive area for classes 0 and 1.
    return {
        0: _curve([0.12, 0.10, 0.15, 0.3], [0.01, 0.2, 0.1, 0.01], [0.2, 0.6, 0.3, 0.9]),
        1: _curve([0.03, 0.10, 0.15, 0.3], [0.30, 0.2, 0.04, 0.01], [0.2, 0.6, 0.3, 0.9]),
        2: _curve([0.00, 0.10, 0.15, 0.3], [0.60, 0.2, 0.1, 0.01], [0.2, 0.6, 0.3, 0.9]),
    }


def test_deletion_reading(curves):
    ko.check_deletion_reading("grad_x_act", 1, curves)
    ko.check_deletion_reading("GRAD_X_ACT", 1.0, curves)
    fails_with("causal reference", ko.check_deletion_reading, "effect", 1, curves)
    fails_with("hurts most at k = 1", ko.check_deletion_reading, "readout", 1, curves)
    fails_with("Average curves[c].area", ko.check_deletion_reading, "aggregated_score", 1, curves)
    fails_with("should be one of", ko.check_deletion_reading, "gradients", 1, curves)
    fails_with("positive area can be chance", ko.check_deletion_reading, "grad_x_act", 2, curves)
    fails_with("count only the relay ranking", ko.check_deletion_reading, "grad_x_act", 5, curves)
    fails_with("for 1 of 3 classes", ko.check_deletion_reading, "grad_x_act", 0, curves)
    fails_with("dict of class", ko.check_deletion_reading, "grad_x_act", 1, [])


def test_deletion_reading_on_real_curves(lesson):
    from relaywidgets.knockout import deletion_curve

    net, X, y, relays, _ = lesson
    curves = {
        c: deletion_curve(
            net,
            X,
            y,
            ["aggregated_score", "readout", "effect"],
            c,
            relays=relays,
            time=9,
            ks=[1, 2],
            n_random=20,
            progress=False,
        )
        for c in (1,)
    }
    areas = curves[1].area.to_pandas().drop("effect")
    n_sig = int(float(curves[1].p_value.sel(ranking="aggregated_score")) < 0.05)
    ko.check_deletion_reading(str(areas.idxmax()), n_sig, curves)
