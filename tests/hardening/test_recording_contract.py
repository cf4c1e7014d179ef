"""Recordings (issue 14, case 11): duplicated node labels are refused by the contract check."""

from __future__ import annotations

import numpy as np
import pytest

import relaywidgets as rw
from relaywidgets import RecordingError, check_recording


def test_duplicated_node_labels_are_refused():
    X, y = rw.make_task("delayed-cue", 12, 5, seed=0)
    rec = rw.record(rw.RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0), X, y)
    twice = rec.isel(node=[0, 1, 1, 2])
    with pytest.raises(RecordingError, match=r"node labels must be unique; \['l0.h1'\] occur more than once"):
        check_recording(twice)
    renamed = rec.assign_coords(node=np.array(["l0.h0", "l0.h0", "l0.h2"]))
    with pytest.raises(RecordingError, match="must be unique"):
        rw.find_relays(renamed, n_perm=0, progress=False)
    assert check_recording(rec) is rec
