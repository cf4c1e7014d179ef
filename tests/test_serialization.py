"""Model files: save/load round trip with weights_only loading; foreign files are refused clearly."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from relaywidgets import ModelFileError, RecurrentClassifier, load, save


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_round_trip(tmp_path, arch):
    model = RecurrentClassifier(arch, 3, 7, 4, num_layers=2, device="cpu")
    model.metadata.update(task="delayed-cue", seed=9)
    path = save(model, tmp_path / "m.pt")
    loaded = load(path, device="cpu")
    assert loaded.config() == model.config()
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2
        torch.testing.assert_close(v1, v2, rtol=0, atol=0)
    x = np.random.default_rng(0).normal(size=(3, 5, 3)).astype(np.float32)
    torch.testing.assert_close(model(x), loaded(x), rtol=0, atol=0)
    # weights_only loading works on the raw file: no arbitrary objects inside.
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"format", "config", "state_dict"}


def test_foreign_files_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="No model file"):
        load(tmp_path / "missing.pt")
    text = tmp_path / "x.pt"
    text.write_text("not a model")
    with pytest.raises(ModelFileError, match="is not a relaywidgets model file"):
        load(text)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(ModelFileError, match="no 'relaywidgets-model/1' marker"):
        load(plain)


class _Exploit:
    def __reduce__(self):  # would run code if unpickled without weights_only
        return (print, ("unpickled!",))


def test_pickled_objects_are_not_executed(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"format": "relaywidgets-model/1", "payload": _Exploit()}, fh)
    with pytest.raises(ModelFileError, match="not a relaywidgets model file"):
        load(evil)
    assert "unpickled!" not in capsys.readouterr().out
