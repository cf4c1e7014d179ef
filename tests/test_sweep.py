"""relaywidgets.sweep: a grid of runs gathered into one tidy Dataset, the same in this process and on a cluster."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from relaywidgets.errors import InputError, SweepError
from relaywidgets.sweep import grid_points, sweep

pytest.importorskip("distributed")


def noisy_run(arch: str, seed: int) -> dict:
    """Cheap, deterministic given the point: its randomness comes from the seed in the point."""
    rng = np.random.default_rng([seed, len(arch)])
    x = rng.normal(size=4)
    return {"score": float(x.sum()), "n": len(arch) * 10 + seed, "trace": x,
            "label": f"{arch}-{seed}"}


def fails_at_gru_1(arch: str, seed: int) -> dict:
    if arch == "gru" and seed == 1:
        raise ValueError("diverged")
    return {"score": float(seed)}


GRID = {"arch": ["rnn", "gru"], "seed": [0, 1, 2]}


def test_serial_sweep_is_tidy_and_follows_the_grid_order():
    ds = sweep(noisy_run, GRID, progress=False)
    assert ds["score"].dims == ("arch", "seed")
    assert ds["trace"].dims == ("arch", "seed", "trace_dim_0")
    assert ds["arch"].values.tolist() == ["rnn", "gru"]  # grid order, not sorted
    assert ds["seed"].values.tolist() == [0, 1, 2]
    assert ds["n"].dtype.kind == "i"
    for point in grid_points(GRID):
        expected = noisy_run(**point)
        assert ds["score"].sel(point).item() == expected["score"]
        np.testing.assert_array_equal(ds["trace"].sel(point).values, expected["trace"])
        assert ds["label"].sel(point).item() == expected["label"]


def test_sweep_on_a_two_worker_local_cluster_equals_the_serial_sweep():
    from distributed import Client, LocalCluster

    serial = sweep(noisy_run, GRID, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        distributed = sweep(noisy_run, GRID, client=client, progress=False)
        assert client.status == "running"  # a Client handed in is left open
    xr.testing.assert_identical(distributed, serial)


def test_dataarray_values_with_different_coordinates_are_aligned():
    def per_task(task: str) -> dict:
        classes = [0, 1] if task == "two" else [0, 1, 2]
        return {"acc": xr.DataArray(np.ones(len(classes)), dims="concept", coords={"concept": classes})}

    ds = sweep(per_task, {"task": ["two", "three"]}, progress=False)
    assert ds["acc"].dims == ("task", "concept")
    assert ds["concept"].values.tolist() == [0, 1, 2]
    assert np.isnan(ds["acc"].sel(task="two", concept=2).item())


def test_an_error_names_the_point_that_failed_serially():
    with pytest.raises(SweepError, match=r"arch='gru', seed=1.*ValueError: diverged") as info:
        sweep(fails_at_gru_1, GRID, progress=False)
    assert info.value.point == {"arch": "gru", "seed": 1}
    assert isinstance(info.value.__cause__, ValueError)


def test_an_error_names_the_point_that_failed_on_a_cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, pytest.raises(SweepError, match=r"arch='gru', seed=1.*diverged"):
        sweep(fails_at_gru_1, GRID, client=client, progress=False)


@pytest.mark.parametrize(
    "grid, match",
    [
        ({}, "non-empty dict"),
        ([("seed", [0])], "non-empty dict"),
        ({"seed": []}, "has no values"),
        ({"seed": 3}, "must be a list"),
        ({"seed": "abc"}, "must be a list"),
        ({"seed": [0, 0]}, "repeats the value 0"),
        ({"not a name": [0]}, "identifier"),
    ],
)
def test_a_bad_grid_is_refused_with_a_clear_message(grid, match):
    with pytest.raises(InputError, match=match):
        sweep(noisy_run, grid, progress=False)


def test_bad_client_and_bad_returns_are_refused():
    with pytest.raises(InputError, match="'client' parameter"):
        sweep(noisy_run, GRID, client=3, progress=False)
    with pytest.raises(InputError, match="must return a dict"):
        sweep(lambda seed: seed, {"seed": [0]}, progress=False)
    with pytest.raises(InputError, match="same keys"):
        sweep(lambda seed: {"a": 1} if seed else {"b": 1}, {"seed": [0, 1]}, progress=False)
    with pytest.raises(InputError, match="also grid keys"):
        sweep(lambda seed: {"seed": seed}, {"seed": [0, 1]}, progress=False)
