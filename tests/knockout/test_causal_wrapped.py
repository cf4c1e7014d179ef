"""Effect maps, causal sets and deletion curves on a user's own model wrapped with relaywidgets.stepwise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import relaywidgets as rw
from relaywidgets.errors import KnockoutError
from relaywidgets.knockout import Knockout, causal_set, deletion_curve, effect_map, evaluate


class TokenClassifier(nn.Module):
    """Embedding -> LSTM -> MLP head: a common PyTorch pattern with token-id inputs."""

    def __init__(self, vocab: int = 5, hidden: int = 6, classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 4)
        self.lstm = nn.LSTM(4, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 8), nn.ReLU(), nn.Linear(8, classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out[:, -1])


@pytest.fixture(scope="module")
def wrapped():
    torch.manual_seed(0)
    model = rw.stepwise(TokenClassifier())
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, size=(60, 5))
    y = tokens[:, 0] % 3  # the first token decides
    return model, tokens, y


def test_effect_map_of_a_token_model_equals_single_knockouts(wrapped):
    model, tokens, y = wrapped
    eff = effect_map(model, tokens, y, n_boot=0, progress=False)
    assert eff.accuracy_drop.dims == ("concept", "node", "time")
    assert list(eff.node.values) == model.node_labels
    base = evaluate(model, tokens, y)
    for label in ("lstm:l0.h1", "lstm:l0.h4"):
        for t in (0, 3):
            hit = evaluate(model, tokens, y, knockout=Knockout([label], times=[t]))
            for cls in range(3):
                expected = float(base.class_accuracy.sel({"class": cls}) - hit.class_accuracy.sel({"class": cls}))
                got = float(eff.accuracy_drop.sel(concept=str(cls), node=label, time=t))
                assert got == pytest.approx(expected, abs=1e-12)


def test_causal_set_and_gradient_rankings_run_on_a_wrapped_model(wrapped):
    model, tokens, y = wrapped
    found = causal_set(model, tokens, y, 0, target=0.5, progress=False)
    assert all(str(n).startswith("lstm:l0.h") for n in found.order.values)
    curve = deletion_curve(model, tokens, y, "grad_x_act", 0, ks=[1, 2], n_random=10, progress=False)
    assert curve.curve.shape == (2,)


def test_readout_ranking_explains_what_to_use_for_a_custom_head(wrapped):
    model, tokens, y = wrapped
    with pytest.raises(KnockoutError, match="'readout' ranking needs a linear readout.*grad_x_act"):
        deletion_curve(model, tokens, y, "readout", 0, ks=[1], n_random=5, progress=False)
