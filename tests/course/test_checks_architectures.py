"""The answer checks of lesson 4: right answers pass, and each common mistake fails with its hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from relaywidgets.course import AnswerError
from relaywidgets.course import architectures as ar
from relaywidgets.relay import find_relays, jaccard, relay_drift, relays_at
from relaywidgets.testing import latched_cue, make_recording


def fails_with(hint_words: str, fn, *args, **kwargs) -> str:
    """Run a check that must fail; assert the message carries ``hint_words``; return the message."""
    with pytest.raises(AnswerError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert hint_words in message, message
    return message


def right_persistence(is_relay):
    sets = np.asarray(is_relay, dtype=bool)
    out = np.full(sets.shape[0], np.nan)
    for t in range(1, sets.shape[0]):
        union = (sets[t - 1] | sets[t]).sum()
        if union:
            out[t] = (sets[t - 1] & sets[t]).sum() / union
    return out


# ------------------------------------------------------------------------------- exercise 1: persistence


def test_persistence_right_answer_passes():
    ar.check_persistence(right_persistence)
    rng = np.random.default_rng(7)
    ar.check_persistence(right_persistence, cases=[rng.random((12, 16)) < p for p in (0.1, 0.5, 0.9)])


def test_persistence_cases_agree_with_relay_drift():
    # The hand-written expectations of the default cases are what the package's relay_drift computes.
    for sets, expected in ar.PERSISTENCE_CASES:
        sets = np.asarray(sets, dtype=bool)
        T, n = sets.shape
        result = xr.Dataset(
            {"is_relay": (("concept", "time", "node"), sets[None])},
            coords={"concept": ["1"], "time": np.arange(T), "node": [f"l0.h{i}" for i in range(n)]},
        )
        np.testing.assert_allclose(relay_drift(result).persistence.sel(concept="1").values, expected)


def _dice(r):
    s = np.asarray(r, bool)
    out = np.full(len(s), np.nan)
    for t in range(1, len(s)):
        total = s[t - 1].sum() + s[t].sum()
        if total:
            out[t] = 2 * (s[t - 1] & s[t]).sum() / total
    return out


def _overlap(r):
    s = np.asarray(r, bool)
    out = np.full(len(s), np.nan)
    for t in range(1, len(s)):
        small = min(s[t - 1].sum(), s[t].sum())
        if small:
            out[t] = (s[t - 1] & s[t]).sum() / small
    return out


def _to_first(r):
    s = np.asarray(r, bool)
    return np.array([np.nan] + [right_persistence(s[[0, t]])[1] for t in range(1, len(s))])


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda r: right_persistence(r)[1:], "one value per step"),
        (lambda r: np.concatenate([[np.nan], np.nan_to_num(right_persistence(r)[1:])]), "0/0"),
        (lambda r: np.concatenate([[np.nan], np.nan_to_num(right_persistence(r)[1:], nan=1.0)]), "0/0"),
        (lambda r: np.concatenate([[np.nan], (np.asarray(r)[:-1] & np.asarray(r)[1:]).sum(1)]), "size of the overlap"),
        (_dice, "Dice"),
        (_overlap, "smaller set"),
        (_to_first, "not with the first step"),
        (lambda r: right_persistence(r) * 0.5, "R[t-1] & R[t]"),
        (lambda r: None, "forget to return"),
    ],
)
def test_persistence_mistakes_get_their_hint(wrong, hint):
    fails_with(hint, ar.check_persistence, wrong)


def test_persistence_needs_a_function():
    fails_with("should be a function", ar.check_persistence, [0.5])
    fails_with("array of numbers", ar.check_persistence, lambda r: ["a"] * len(r))


# ------------------------------------------------------------------------------ exercise 2: chance Jaccard


def test_chance_jaccard_truth_matches_a_simulation():
    rng = np.random.default_rng(0)
    for a, b, n in ((14, 14, 16), (3, 5, 10), (1, 6, 8)):
        first = np.argsort(rng.random((40000, n)), axis=1) < a
        second = np.argsort(rng.random((40000, n)), axis=1) < b
        simulated = np.mean((first & second).sum(1) / (first | second).sum(1))
        assert abs(simulated - ar.chance_jaccard_truth(a, b, n)) < 0.005
    assert math.isnan(ar.chance_jaccard_truth(0, 0, 4))
    assert ar.chance_jaccard_truth(16, 16, 16) == 1.0


def test_chance_jaccard():
    ar.check_chance_jaccard(ar.chance_jaccard_truth)
    ar.check_chance_jaccard(ar.chance_jaccard_truth, cases=[(15, 16, 16), (1, 1, 16), (16, 16, 16)])
    fails_with("ratio of expectations", ar.check_chance_jaccard, lambda a, b, n: (a * b / n) / (a + b - a * b / n))
    fails_with("expected size of the overlap", ar.check_chance_jaccard, lambda a, b, n: a * b / n)
    fails_with("largest Jaccard index", ar.check_chance_jaccard, lambda a, b, n: min(a, b) / max(a, b))
    fails_with("hypergeometric", ar.check_chance_jaccard, lambda a, b, n: 0.5)
    no_nan = lambda a, b, n: 0.0 if a + b == 0 else ar.chance_jaccard_truth(a, b, n)
    fails_with("should be NaN", ar.check_chance_jaccard, no_nan)
    fails_with("should be a function", ar.check_chance_jaccard, 0.78)


# ------------------------------------------------------------------ exercises 3-5 on real relay results


@pytest.fixture(scope="module")
def results():
    """Relay results with a known answer: a latch (stores), and noise relays that hop between units (drift)."""
    latch = find_relays(latched_cue(n_nodes=6, n_steps=8, n_samples=1000), concepts=[1], n_perm=20, progress=False)
    # A unit that copies the output, a different unit at every step: the relay role hops (pure drift).
    rng = np.random.default_rng(0)
    n, T, N = 6, 8, 800
    out = rng.integers(0, 2, N)
    hidden = rng.normal(size=(N, T, n))
    for t in range(T):
        hidden[:, t, t % n] = out + 0.1 * rng.normal(size=N)
    hop = find_relays(make_recording(hidden.transpose(2, 1, 0), out), concepts=[1], n_perm=20, progress=False)
    return {"latch": latch, "hop": hop}


def test_insignificant_steps(results):
    truth = {a: [int(t) for t in r.time.values[~r.significant.sel(concept="1").values]] for a, r in results.items()}
    ar.check_insignificant_steps(truth, results, concept="1")
    fake = results["latch"].copy()
    fake["significant"] = fake.significant.copy(data=np.array([[False, *([True] * 7)]]))
    ar.check_insignificant_steps({"latch": [0]}, {"latch": fake}, concept="1")
    fails_with("permutation null", ar.check_insignificant_steps, {"latch": []}, {"latch": fake}, concept="1")
    fails_with("result.significant", ar.check_insignificant_steps, {"latch": [3]}, {"latch": fake}, concept="1")
    fails_with("no entry for 'latch'", ar.check_insignificant_steps, {}, {"latch": fake}, concept="1")
    fails_with("list of steps", ar.check_insignificant_steps, {"latch": 0}, {"latch": fake}, concept="1")
    fails_with("should be a dict", ar.check_insignificant_steps, [0], {"latch": fake}, concept="1")


def test_excess_persistence_by_hand(results):
    # The reference: relay_drift's persistence index minus the hypergeometric chance of the same sizes.
    res = results["hop"]
    sets = relays_at(res.sel(time=slice(2, None)), 0.5)
    member = sets.is_relay.sel(concept="1").values
    p = jaccard(member[:-1], member[1:])
    sizes = member.sum(1)
    chance = [ar.chance_jaccard_truth(int(sizes[t]), int(sizes[t + 1]), 6) for t in range(len(p))]
    index, chance_index = ar.excess_persistence(res, 0.5, start=2)
    assert index == pytest.approx(np.nanmean(p)) and chance_index == pytest.approx(np.mean(chance))
    latch_index, latch_chance = ar.excess_persistence(results["latch"], 0.5, start=2)
    assert latch_index == 1.0 and latch_index - latch_chance > 0.5


def test_excess(results):
    truth = {a: float(np.subtract(*ar.excess_persistence(r, 0.5, start=2))) for a, r in results.items()}
    ar.check_excess(truth, results)
    ar.check_excess({a: v + 0.015 for a, v in truth.items()}, results)  # within the tolerance
    raw = {a: ar.excess_persistence(r, 0.5, start=2)[0] for a, r in results.items()}
    fails_with("subtract the chance level", ar.check_excess, raw, results)
    fails_with("sign is flipped", ar.check_excess, {a: -v for a, v in truth.items()}, results)
    fails_with("relays_at(result.sel", ar.check_excess, {a: v + 0.3 for a, v in truth.items()}, results)
    fails_with("no entry for", ar.check_excess, {"latch": truth["latch"]}, results)
    fails_with("should be a number", ar.check_excess, {"latch": "high", "hop": 0.0}, results)


def test_excess_storage_period_hint():
    # A latch that forms only at step 2: before it, the relay sets are other units. With the storage period
    # (from step 2) the excess is 1 - chance; from step 0 it is lower, and the check names the window.
    rng = np.random.default_rng(1)
    N, T, n = 1000, 8, 5
    out = rng.integers(0, 2, N)
    hidden = rng.normal(size=(N, T, n))
    hidden[:, 0, 3] = out
    hidden[:, 1, 4] = out
    hidden[:, 2:, 0] = out[:, None]
    res = find_relays(make_recording(hidden.transpose(2, 1, 0), out), concepts=[1], n_perm=0, progress=False)
    whole = ar.excess_persistence(res, 0.5, start=0)
    fails_with("storage period only", ar.check_excess, {"x": whole[0] - whole[1]}, {"x": res})


def test_drifting(results):
    ar.check_drifting(["hop"], results)
    ar.check_drifting(["HOP"], results)
    ar.check_drifting("hop", results)
    fails_with("Judge by the excess over chance", ar.check_drifting, [], results)
    fails_with("localized storage", ar.check_drifting, ["hop", "latch"], results)
    fails_with("should be one of", ar.check_drifting, ["rnn"], results)
    fails_with("should be one of", ar.check_drifting, [0], results)
    fails_with("list of architecture names", ar.check_drifting, None, results)
