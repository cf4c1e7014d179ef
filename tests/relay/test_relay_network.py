"""A hand-wired recurrent network: one unit latches the cue; it must be the relay at every step."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets.relay import find_relays, relay_drift


def _latch_network(n_samples=1500, n_steps=6, seed=0):
    torch = pytest.importorskip("torch")
    from relaywidgets import RecurrentClassifier, record

    model = RecurrentClassifier("rnn", input_size=4, hidden_size=4, num_classes=2, device="cpu")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.rnn.weight_ih_l0.copy_(torch.diag(torch.tensor([2.0, 1.0, 1.0, 1.0])))
        model.rnn.weight_hh_l0.copy_(torch.diag(torch.tensor([3.0, 0.5, 0.5, 0.5])))
        model.readout.weight.copy_(torch.tensor([[-5.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]]))
    rng = np.random.default_rng(seed)
    cue = rng.integers(0, 2, size=n_samples)
    X = rng.normal(0.0, 1.0, size=(n_samples, n_steps, 4)).astype(np.float32)
    X[:, :, 0] = 0.0
    X[:, 0, 0] = 2.0 * cue - 1.0  # the cue, at step 0 only
    return record(model, X, cue)


def test_hand_wired_latch_is_the_only_relay_at_every_step():
    rec = _latch_network()
    np.testing.assert_array_equal(rec["prediction"].values, rec["label"].values)
    res = find_relays(rec, concepts=[1], n_perm=30, progress=False, device="numpy")
    members = res["is_relay"].values[0]  # (time, node)
    assert (members == np.array([True, False, False, False])).all()
    assert res["significant"].values.all()
    assert relay_drift(res)["persistence_index"].item() == 1.0
    # the latch alone carries the whole decision: I_R({h0}) = I_R(N) = H(O) ~ 1 bit, up to the
    # plug-in bias of conditioning on the three noise units
    np.testing.assert_allclose(res["unique_relay"].values[0, :, 0], res["total"].values[0], atol=0.01)


def test_hand_wired_latch_with_the_label_source():
    rec = _latch_network(n_samples=800, n_steps=3, seed=1)
    res = find_relays(rec, concepts=[1], n_perm=0, source="label", progress=False, device="numpy")
    assert (res["is_relay"].values[0] == np.array([True, False, False, False])).all()
