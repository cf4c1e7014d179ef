"""The shipped pretrained networks: listed, loaded by name with their data, checked, small."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import relaywidgets
from relaywidgets import InputError, ModelFileError, RecurrentClassifier
from relaywidgets import pretrained as pretrained_module
from relaywidgets.knockout import evaluate
from relaywidgets.pretrained import PretrainedInfo, load_pretrained, pretrained

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = Path(pretrained_module.__file__).parent


def _script():
    spec = importlib.util.spec_from_file_location("train_pretrained", ROOT / "experiments/train_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_pretrained"] = module
    spec.loader.exec_module(module)
    return module


def test_listing_needs_no_weights_and_names_every_shipped_file():
    infos = pretrained()
    assert len(infos) >= 8
    assert all(isinstance(i, PretrainedInfo) and i.name == name for name, i in infos.items())
    files = {p.name for p in (SHIPPED / "networks").glob("*.pt")}
    manifest = json.loads((SHIPPED / "manifest.json").read_text())["networks"]
    assert files == {e["file"] for e in manifest.values()}, "every shipped file is in the manifest and vice versa"
    assert {i.arch for i in infos.values()} == {"rnn", "lstm", "gru"}
    assert any(i.source == "dataset" for i in infos.values())


def test_the_whole_set_is_under_one_megabyte():
    total = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 1_000_000, f"{total} bytes"


def test_manifest_matches_the_training_script_and_the_files():
    script = _script()
    manifest = json.loads((SHIPPED / "manifest.json").read_text())["networks"]
    assert set(manifest) <= set(script.NETWORKS)
    for name, entry in manifest.items():
        task, source, arch, floor = script.NETWORKS[name]
        assert (entry["task"], entry["source"], entry["arch"]) == (task, source, arch)
        assert entry["test_accuracy"] >= floor, "the script only ships networks above their floor"
        if source == "task":
            assert entry["data"] == script.TASK_DATA
        assert hashlib.sha256((SHIPPED / "networks" / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("name", list(pretrained()))
def test_each_network_loads_and_scores_what_the_manifest_says(name):
    net = load_pretrained(name)
    info = net.info
    assert isinstance(net.model, RecurrentClassifier) and not net.model.training
    assert (net.model.arch, net.model.hidden_size) == (info.arch, info.hidden_size)
    assert net.X_train.shape[0] == net.y_train.shape[0] and net.X_test.shape[0] == net.y_test.shape[0]
    assert len(net.class_names) == net.model.num_classes
    # the truth: the accuracies measured by the training script on the same regenerated data. Allow one
    # sequence of slack per split for floating-point differences between BLAS builds.
    test = float(evaluate(net.model, net.X_test, net.y_test, lengths=net.lengths_test).accuracy)
    train = float(evaluate(net.model, net.X_train, net.y_train, lengths=net.lengths_train).accuracy)
    assert abs(test - info.test_accuracy) <= 1 / len(net.y_test) + 1e-12
    assert abs(train - info.train_accuracy) <= 1 / len(net.y_train) + 1e-12
    chance = np.bincount(net.y_test).max() / len(net.y_test)
    assert test > chance + 0.2, "a shipped network has learned its task"


def test_task_data_are_regenerated_exactly():
    net = load_pretrained("delayed-cue-lstm")
    d = net.info.data
    X, y = relaywidgets.make_task("delayed-cue", n_samples=d["n_train"] + d["n_test"], seq_len=d["seq_len"], seed=d["seed"])
    np.testing.assert_array_equal(net.X_train, X[: d["n_train"]])
    np.testing.assert_array_equal(net.y_test, y[d["n_train"]:])
    assert net.lengths_train is None and net.lengths_test is None


def test_dataset_networks_carry_the_class_names():
    pytest.importorskip("aeon")
    net = load_pretrained("japanese-vowels-gru")
    assert net.class_names == tuple(net.model.metadata["class_names"])
    assert net.lengths_test is not None and net.X_test.shape[2] == 12


def test_top_level_load_pretrained():
    assert relaywidgets.load_pretrained is load_pretrained


@pytest.mark.parametrize("bad", ["no-such-net", "", None, 3, ["delayed-cue-gru"]])
def test_unknown_names_are_refused_with_the_list(bad):
    with pytest.raises(InputError, match="Available: .*delayed-cue-gru"):
        load_pretrained(bad)


def test_a_near_miss_name_gets_a_suggestion():
    with pytest.raises(InputError, match="Did you mean 'delayed-cue-gru'"):
        load_pretrained("Delayed_Cue-GRU")


@pytest.fixture
def damaged_copy(tmp_path, monkeypatch):
    copy = tmp_path / "pretrained"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(pretrained_module, "_package_files", lambda: copy)
    pretrained_module._manifest.cache_clear()
    yield copy
    pretrained_module._manifest.cache_clear()


def test_a_flipped_byte_in_a_shipped_file_is_refused(damaged_copy):
    path = damaged_copy / "networks" / "delayed-cue-gru.pt"
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x10
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        load_pretrained("delayed-cue-gru")


def test_a_missing_file_or_a_broken_manifest_is_refused(damaged_copy):
    (damaged_copy / "networks" / "delayed-cue-gru.pt").unlink()
    with pytest.raises(ModelFileError, match="missing; reinstall"):
        load_pretrained("delayed-cue-gru")
    pretrained_module._manifest.cache_clear()
    (damaged_copy / "manifest.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="cannot be read"):
        pretrained()


def test_cli_lists_the_networks(capsys):
    from relaywidgets.cli import main

    assert main(["pretrained"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in pretrained())
