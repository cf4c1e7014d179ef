"""The compiled plan: Knockout.compile, overlaying several knockouts, any compilable object, hashing."""

from __future__ import annotations

import pytest
import torch

from relaywidgets import Knockout, RecurrentClassifier
from relaywidgets.errors import KnockoutError
from relaywidgets.models.plan import KnockoutPlan, compile_knockouts

SHAPE = {"seq_len": 9, "hidden_size": 5, "num_layers": 2, "arch": "lstm"}


def _model(seed=0):
    torch.manual_seed(seed)
    return RecurrentClassifier("lstm", 3, 5, 4, 2, device="cpu").eval()


def _x(seed=1):
    return torch.randn(6, 9, 3, generator=torch.Generator().manual_seed(seed))


def test_compile_sets_exactly_the_window_and_the_value():
    plan = Knockout([1, 3], layer=1, times=[2, -1], value=0.5, clamp_cell=True).compile(**SHAPE)
    expected = torch.zeros(9, 1, 5, dtype=torch.bool)
    expected[[2, 2, 8, 8], 0, [1, 3, 1, 3]] = True
    assert set(plan.masks) == {1} and set(plan.cell_masks) == {1}
    assert torch.equal(plan.masks[1], expected) and torch.equal(plan.cell_masks[1], expected)
    assert torch.equal(plan.values[1][expected], torch.full((4,), 0.5))
    assert plan.active_steps(1) == frozenset({2, 8}) and plan.first_step == 2


def test_compile_checks_the_model_shape():
    with pytest.raises(KnockoutError, match="names layer 2 but the model has 2 layer"):
        Knockout([0], layer=2).compile(**SHAPE)
    with pytest.raises(KnockoutError, match=r"node\(s\) \[5\] are out of range"):
        Knockout([5]).compile(**SHAPE)
    with pytest.raises(KnockoutError, match="LSTMs only"):
        Knockout([0], clamp_cell=True).compile(**{**SHAPE, "arch": "gru"})
    with pytest.warns(UserWarning, match="empty node set"):
        assert Knockout([]).compile(**SHAPE) is None
    with pytest.warns(UserWarning, match="contains no step"):
        assert Knockout([0], times=slice(20, None)).compile(**SHAPE) is None


def test_later_knockout_wins_where_two_clamp_the_same_unit():
    first, second = Knockout([0, 1], value=1.0), Knockout([1, 2], times=slice(4, None), value=-2.0)
    plan = compile_knockouts([first, second], **SHAPE)
    v = plan.values[0][:, 0]
    assert torch.equal(plan.masks[0][:, 0].nonzero()[:, 1].unique(), torch.tensor([0, 1, 2]))
    assert (v[:, 0] == 1.0).all() and (v[:4, 1] == 1.0).all() and (v[4:, 1] == -2.0).all()
    assert (v[4:, 2] == -2.0).all() and not plan.masks[0][:4, 0, 2].any()


def test_the_model_runs_any_compilable_object():
    """The model never imports the experiment: anything with a compile method (or a plan) will do."""

    class EveryOther:
        def compile(self, *, seq_len, hidden_size, num_layers, arch, device="cpu"):
            return Knockout([0, 2], times=list(range(0, seq_len, 2))).compile(
                seq_len=seq_len, hidden_size=hidden_size, num_layers=num_layers, arch=arch, device=device
            )

    model, x = _model(), _x()
    spec = Knockout([0, 2], times=[0, 2, 4, 6, 8])
    with torch.no_grad():
        expected = model(x, knockout=spec)
        torch.testing.assert_close(model(x, knockout=EveryOther()), expected, atol=0, rtol=0)
        torch.testing.assert_close(model(x, knockout=[EveryOther()]), expected, atol=0, rtol=0)
        plan = spec.compile(seq_len=9, hidden_size=5, num_layers=2, arch="lstm")
        assert isinstance(plan, KnockoutPlan)
        torch.testing.assert_close(model(x, knockout=plan), expected, atol=0, rtol=0)
        assert not torch.equal(expected, model(x))


def test_anything_else_is_refused_with_a_message():
    with pytest.raises(KnockoutError, match="knockout must be a Knockout, a list of Knockouts or None"):
        compile_knockouts(3, **SHAPE)
    with pytest.raises(KnockoutError, match="found 'l0.h1' in the list"):
        compile_knockouts([Knockout([0]), "l0.h1"], **SHAPE)


def test_knockout_is_hashable_and_equal_knockouts_hash_equal():
    a = Knockout([1, 2], times=slice(2, None))
    b = Knockout(["l0.h1", "l0.h2"], times=slice(2, None))
    assert a == b and hash(a) == hash(b)
    assert len({a, b, Knockout([1, 2], times=slice(3, None)), Knockout([1, 2], times=(2, 3))}) == 3
    assert hash(Knockout(3, times=[4, 5], value=0.5)) == hash(Knockout([3], times=(4, 5), value=0.5))
    assert {a: "relays"}[b] == "relays"
