"""The `relaywidgets demo` command: trains, records, writes files that pass the contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from relaywidgets import check_recording, load, load_recording
from relaywidgets.cli import main


def test_demo_writes_model_recording_and_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--arch", "gru", "--out", str(out), "--n-train", "400", "--n-test", "200",
                 "--seq-len", "10", "--hidden-size", "12", "--no-relays", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "test accuracy:" in printed and "class 3:" in printed
    rec = check_recording(load_recording(out / "recording.nc"))
    assert rec.attrs["arch"] == "gru" and rec.attrs["task"] == "delayed-cue" and rec.sizes["sample"] == 200
    model = load(out / "model.pt", device="cpu")
    assert (model.predict(rec.input.transpose("sample", "time", "feature").values) == rec.prediction.values).all()
    summary = json.loads((out / "summary.json").read_text())
    accuracy = float((rec.prediction == rec.label).mean())
    assert summary["test_accuracy"] == pytest.approx(accuracy)
    assert f"test accuracy: {accuracy:.3f}" in printed


def test_demo_reports_bad_task_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "relaywidgets", "demo", "--task", "nope", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Unknown task 'nope'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_demo_with_relays_and_knockouts(tmp_path, capsys):
    import xarray as xr

    out = tmp_path / "demo"
    assert main(["demo", "--arch", "lstm", "--out", str(out), "--n-train", "400", "--n-test", "200",
                 "--seq-len", "8", "--hidden-size", "8", "--quiet"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    with xr.open_dataset(out / "relays.nc", engine="h5netcdf") as relays:
        last = int(relays.time.values[-1])
        for concept in ("0", "1", "2", "3"):
            expected = [str(n) for n in relays.node.values[relays.is_relay.sel(concept=concept, time=last).values]]
            assert summary["relays_last_step"][concept] == expected
            row = summary["knockouts"][concept]
            assert row["relay_set"]["size"] == len(expected) and row["core"]["size"] == 3
            assert 0.0 < row["relay_set"]["p_value"] <= 1.0 and 0.0 < row["core"]["p_value"] <= 1.0
            assert (f"class {concept}: relay set ({len(expected)} nodes) drop {row['relay_set']['relay_drop']:.3f}"
                    in printed)
        assert set(summary["persistence_index"]) == {"0", "1", "2", "3"}
    assert "relay-versus-random knockouts" in printed


@pytest.mark.slow
def test_demo_prints_causal_sets_beside_relay_sets(tmp_path, capsys):
    from relaywidgets.knockout import causal_set

    out = tmp_path / "demo"
    assert main(["demo", "--arch", "gru", "--out", str(out), "--n-train", "400", "--n-test", "200",
                 "--seq-len", "8", "--hidden-size", "8", "--quiet"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    model = load(out / "model.pt", device="cpu")
    rec = load_recording(out / "recording.nc")
    X = rec.input.transpose("sample", "time", "feature").values
    for concept in ("0", "1", "2", "3"):
        row = summary["causal"][concept]
        again = causal_set(model, X, rec.label.values, concept, target=0.5, progress=False)
        assert row["causal_set"] == [str(n) for n in again.order.values]
        assert row["reached"] == bool(again.reached)
        assert 0.0 <= row["jaccard"] <= 1.0 and 0.0 <= row["hypergeom_p"] <= 1.0
        assert f"class {concept}: causal set {row['causal_set']}" in printed
