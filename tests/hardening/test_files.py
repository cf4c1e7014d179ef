"""Files you can trust (issue 14, cases 1, 4, 5): atomic writes, translated OS errors, checksums, damaged files."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from relaywidgets import (
    ModelFileError,
    RecordingError,
    RecurrentClassifier,
    load,
    load_recording,
    record,
    save,
    save_recording,
)
from relaywidgets.serialization import MODEL_FORMAT


@pytest.fixture(scope="module")
def rec():
    model = RecurrentClassifier("lstm", 3, 6, 4, device="cpu", seed=1)
    X = np.random.default_rng(0).normal(size=(30, 7, 3)).astype(np.float32)
    return record(model, X, np.arange(30) % 4, lengths=np.r_[np.full(29, 7), 3])


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ------------------------------------------------------------------------------------------ full disk
_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys, gc
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    import numpy as np
    from relaywidgets import RecurrentClassifier, record, save, save_recording
    target = sys.argv[1]
    model = RecurrentClassifier("lstm", 4, 48, 4, device="cpu", seed=0)
    X = np.random.default_rng(0).normal(size=(300, 12, 4)).astype(np.float32)
    rec = record(model, X, np.arange(300) % 4)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    try:
        save_recording(rec, target + ".nc") if sys.argv[2] == "recording" else save(model, target + ".pt")
    except Exception as exc:
        print("CAUGHT", type(exc).__name__, exc)
    gc.collect()  # h5netcdf used to segfault here, closing a file whose write had failed
    print("CLEAN EXIT")
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("what", ["recording", "model"])
def test_a_full_disk_gives_our_error_no_crash_and_no_temporary_file(tmp_path, what):
    (tmp_path / "x.nc").write_bytes(b"old")
    (tmp_path / "x.pt").write_bytes(b"old")
    run = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path / "x"), what],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    error = "RecordingError" if what == "recording" else "ModelFileError"
    assert f"CAUGHT {error}" in run.stdout and "size limit" in run.stdout and "CLEAN EXIT" in run.stdout, run.stdout
    assert _leftovers(tmp_path, {"x.nc", "x.pt"}) == []
    assert (tmp_path / "x.nc").read_bytes() == b"old" and (tmp_path / "x.pt").read_bytes() == b"old"


# ----------------------------------------------------------------------------------- translated errors
@pytest.mark.parametrize(
    "code, words",
    [(errno.ENOSPC, "disk is full"), (errno.EACCES, "permission denied"), (errno.EROFS, "read-only")],
)
def test_os_errors_during_a_write_are_translated_and_clean_up(tmp_path, monkeypatch, rec, code, words):
    model = RecurrentClassifier("gru", 3, 4, 2, device="cpu", seed=0)

    def failing_fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    (tmp_path / "m.pt").write_bytes(b"old")
    with pytest.raises(ModelFileError, match=words):
        save(model, tmp_path / "m.pt")
    with pytest.raises(RecordingError, match=words):
        save_recording(rec, tmp_path / "r.nc")
    assert _leftovers(tmp_path, {"m.pt"}) == [] and (tmp_path / "m.pt").read_bytes() == b"old"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_read_only_directory_is_reported(tmp_path, rec):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ModelFileError, match="permission denied"):
            save(RecurrentClassifier("gru", 3, 4, 2, device="cpu"), folder / "m.pt")
        with pytest.raises(RecordingError, match="permission denied"):
            save_recording(rec, folder / "r.nc")
    finally:
        folder.chmod(0o700)
    assert _leftovers(folder, set()) == []


def test_a_directory_as_target_is_refused(tmp_path, rec):
    (tmp_path / "m.pt").mkdir()
    (tmp_path / "r.nc").mkdir()
    with pytest.raises(ModelFileError, match="is a directory"):
        save(RecurrentClassifier("gru", 3, 4, 2, device="cpu"), tmp_path / "m.pt")
    with pytest.raises(RecordingError, match="is a directory"):
        save_recording(rec, tmp_path / "r.nc")
    assert _leftovers(tmp_path, {"m.pt", "r.nc"}) == []


def test_a_file_in_place_of_the_parent_directory_is_reported(tmp_path, rec):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="Could not create the directory"):
        save(RecurrentClassifier("gru", 3, 4, 2, device="cpu"), tmp_path / "file" / "m.pt")
    with pytest.raises(RecordingError, match="Could not create the directory"):
        save_recording(rec, tmp_path / "file" / "r.nc")


def test_missing_parents_are_created_and_permissions_follow_the_umask(tmp_path):
    path = save(RecurrentClassifier("gru", 3, 4, 2, device="cpu"), tmp_path / "a" / "b" / "m.pt")
    umask = os.umask(0)
    os.umask(umask)
    assert path.is_file() and (path.stat().st_mode & 0o777) == (0o666 & ~umask)


# ----------------------------------------------------------------------------------------- concurrency
def test_concurrent_saves_to_one_path_never_collide(tmp_path, rec):
    models = [RecurrentClassifier("gru", 3, 4, 2, device="cpu", seed=s) for s in range(6)]
    errors: list[BaseException] = []

    def work(i):
        try:
            for _ in range(4):
                save(models[i], tmp_path / "m.pt")
                save_recording(rec, tmp_path / "r.nc")
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(models))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert _leftovers(tmp_path, {"m.pt", "r.nc"}) == []
    loaded = load(tmp_path / "m.pt", device="cpu")
    weights = loaded.state_dict()["readout.weight"]
    assert any(torch.equal(weights, m.state_dict()["readout.weight"]) for m in models)
    xr.testing.assert_identical(load_recording(tmp_path / "r.nc"), rec)


# --------------------------------------------------------------------------------------- integrity
def _flip_a_bit_of(path: Path, values: np.ndarray) -> None:
    raw = bytearray(path.read_bytes())
    needle = np.ascontiguousarray(values).tobytes()[:16]
    at = raw.find(needle)
    assert at >= 0 and raw.find(needle, at + 1) < 0, "the bytes to flip must occur once in the file"
    raw[at + 2] ^= 0x04  # a low mantissa bit: the value stays finite and plausible
    path.write_bytes(bytes(raw))


def test_a_flipped_bit_in_a_saved_weight_is_detected(tmp_path):
    model = RecurrentClassifier("gru", 3, 5, 2, device="cpu", seed=3)
    path = save(model, tmp_path / "m.pt")
    _flip_a_bit_of(path, model.state_dict()["rnn.weight_hh_l0"].numpy())
    with pytest.raises(ModelFileError, match="corrupted.*checksum"):
        load(path)


def test_a_flipped_bit_in_a_recording_is_detected(tmp_path, rec):
    path = save_recording(rec, tmp_path / "r.nc")
    _flip_a_bit_of(path, rec.logits.values)
    with pytest.raises(RecordingError, match="corrupted.*checksum"):
        load_recording(path)


def test_a_loaded_recording_can_be_changed_and_saved_again(tmp_path, rec):
    loaded = load_recording(save_recording(rec, tmp_path / "r.nc"))
    assert "relaywidgets_sha256" not in loaded.attrs and "relaywidgets_sha256" not in rec.attrs
    changed = loaded.assign(hidden=loaded.hidden * 2)
    xr.testing.assert_identical(load_recording(save_recording(changed, tmp_path / "r.nc")), changed)


def test_files_without_a_checksum_still_load(tmp_path, rec):
    old = tmp_path / "old.nc"
    rec.to_netcdf(old, engine="h5netcdf")  # as save_recording wrote before checksums
    xr.testing.assert_identical(load_recording(old), rec)
    model = RecurrentClassifier("gru", 3, 4, 2, device="cpu", seed=0)
    torch.save({"format": MODEL_FORMAT, "config": json.dumps(model.config()), "state_dict": model.state_dict()},
               tmp_path / "old.pt")
    assert torch.equal(load(tmp_path / "old.pt", device="cpu").readout.weight, model.readout.weight)


def _write_payload(path: Path, config, state) -> Path:
    torch.save({"format": MODEL_FORMAT, "config": config, "state_dict": state}, path)
    return path


def test_nan_or_infinite_weights_are_refused(tmp_path):
    model = RecurrentClassifier("gru", 3, 4, 2, device="cpu", seed=0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["readout.bias"][0] = float("nan")
    with pytest.raises(ModelFileError, match="NaN or infinite weights in readout.bias"):
        load(_write_payload(tmp_path / "nan.pt", json.dumps(model.config()), state))
    with torch.no_grad():
        model.rnn.weight_hh_l0[0, 0] = float("inf")
    with pytest.raises(ModelFileError, match="NaN or infinite weights in rnn.weight_hh_l0"):
        save(model, tmp_path / "inf.pt")
    assert not (tmp_path / "inf.pt").exists()


def test_hand_edited_model_files_give_clear_errors(tmp_path):
    model = RecurrentClassifier("gru", 3, 4, 2, device="cpu", seed=0)
    config, state = model.config(), model.state_dict()
    cases = {
        "bad JSON": ("{'arch': 'gru'", state, "not valid JSON"),
        "not an object": ("[1, 2]", state, "not a JSON object"),
        "missing key": (json.dumps({k: v for k, v in config.items() if k != "hidden_size"}), state, "without 'hidden_size'"),
        "bad value": (json.dumps({**config, "arch": "transformer"}), state, "unusable config.*'arch'"),
        "wrong shape": (json.dumps({**config, "hidden_size": 5}), state, "do not fit its config.*size mismatch"),
        "missing weight": (json.dumps(config), {k: v for k, v in state.items() if k != "readout.bias"},
                           "do not fit its config.*readout.bias"),
        "config not text": (3, state, "must be a JSON string"),
    }
    for name, (cfg, st, message) in cases.items():
        path = _write_payload(tmp_path / "edited.pt", cfg, st)
        with pytest.raises(ModelFileError, match=message):
            load(path)
    torch.save({"format": MODEL_FORMAT, "state_dict": state}, tmp_path / "noconfig.pt")
    with pytest.raises(ModelFileError, match="lacks the 'config' entry"):
        load(tmp_path / "noconfig.pt")
