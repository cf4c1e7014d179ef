"""Fuzz suite, part 3: the analyses above a recording — the plot functions (matplotlib and bqplot), relay_information,
relay_drift, compare_architectures and jaccard, the data loaders (from_arrays, load_dataset, read_ts on damaged
``.ts`` text) and sweep — under drawn arguments and damaged inputs. A correct result (checked against the numbers
the figure or table should show, where that is cheap) or a RelaywidgetsError with a message; a raw
numpy/xarray/matplotlib/pandas error fails, and each case runs under a timeout so a hang fails too."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")  # no display in CI; the figures are inspected, never shown

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz import FLOATS, FUZZ, JUNK, arguments, mostly, outcome, small_recording

import relaywidgets as rw
from relaywidgets import plot
from relaywidgets.data import from_arrays, load_dataset
from relaywidgets.data.ts_format import read_ts
from relaywidgets.relay import compare_architectures, find_relays, jaccard, relay_drift, relay_information
from relaywidgets.sweep import grid_points, sweep

# figures cost tens of milliseconds each: fewer examples than the numerical cases, same derandomized profile
FIGURES = settings(FUZZ, max_examples=40)

X, Y = rw.make_task("delayed-cue", n_samples=24, seq_len=4, seed=0)
# a seed whose untrained network predicts several classes on X, so that its relay map is not all zero
MODEL = rw.RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=8)
REC = small_recording(0, 3, 4, 60, 3, True)
RELAYS = find_relays(REC, n_perm=5, seed=0, progress=False)  # with p-values, so 'significant' means something


def _effects_and_curves():
    from relaywidgets.knockout import deletion_curve, effect_map, relay_knockout_test

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        effects = effect_map(MODEL, X, Y, n_boot=0, progress=False)
        curve = deletion_curve(MODEL, X, Y, ["readout", "grad_x_act"], 1, ks=[1, 2], n_random=5, progress=False)
        relays = find_relays(rw.record(MODEL, X, Y), n_perm=0, progress=False)
        test = relay_knockout_test(MODEL, X, Y, relays, 3, n_random=6, seed=0)
    return effects, curve, test, relays


EFFECTS, CURVE, KO_TEST, MODEL_RELAYS = _effects_and_curves()


def _drop(ds, name):
    return ds.drop_vars(name) if name in ds.variables else ds


# damaged versions of an analysis result: what a user holding an edited or foreign Dataset would pass
DAMAGE = {
    "as is": lambda r: r,
    "no variables": lambda r: r.drop_vars(list(r.data_vars)),
    "drop is_relay": lambda r: _drop(r, "is_relay"),
    "drop contribution": lambda r: _drop(r, "contribution"),
    "drop accuracy_drop": lambda r: _drop(r, "accuracy_drop"),
    "drop random_drops": lambda r: _drop(r, "random_drops"),
    "drop curve": lambda r: _drop(r, "curve"),
    "drop significant": lambda r: _drop(r, "significant"),
    "all NaN": lambda r: r.map(lambda v: v.astype(float) * np.nan if v.dtype.kind in "fiu" else v),
    "infinite": lambda r: r.map(lambda v: v.astype(float) * np.inf if v.dtype.kind == "f" else v),
    "no concepts": lambda r: r.isel(concept=slice(0, 0)) if "concept" in r.dims else r,
    "no steps": lambda r: r.isel(time=slice(0, 0)) if "time" in r.dims else r,
    "no nodes": lambda r: r.isel(node=slice(0, 0)) if "node" in r.dims else r,
    "transposed": lambda r: r.transpose(*reversed(list(r.dims))),
    "a DataArray": lambda r: r[next(iter(r.data_vars))],
    "a dict": lambda r: {"a": r},
    "a list": lambda r: [r, r],
    "numpy": lambda r: np.zeros((2, 2)),
    "None": lambda r: None,
}


def _close(fig):
    if isinstance(fig, matplotlib.figure.Figure):
        plt.close(fig)


def _is_figure(fig, backend):
    if backend == "matplotlib":
        return isinstance(fig, matplotlib.figure.Figure)
    import bqplot
    import ipywidgets

    return isinstance(fig, (bqplot.Figure, ipywidgets.GridBox))


BACKEND = st.sampled_from(["matplotlib", "matplotlib", "bqplot"])
#: a damaged result one time in two, the intact one otherwise (so that the checks of the figure's numbers run)
DAMAGED = st.one_of(st.just("as is"), st.sampled_from(sorted(DAMAGE)))


# --------------------------------------------------------------------------------------------------
# plot: relay figures


@pytest.mark.timeout(120)
@FIGURES
@given(
    fn=st.sampled_from(["relay_heatmap", "relay_sizes", "relay_persistence", "elimination_curve"]),
    damage=DAMAGED,
    args=arguments(
        {"concept": st.sampled_from([0, 1, 2, "0", "1", None]),
         "value": st.sampled_from(["contribution", "aggregated_score", "marginal_mi", "unique_relay"]),
         "threshold": st.none() | st.floats(0, 1), "time": st.integers(0, 3), "significant_only": st.booleans(),
         "backend": BACKEND},
        {"concept": st.sampled_from([3, -1, "all", "9", 1.5]) | JUNK, "threshold": FLOATS | JUNK,
         "time": st.sampled_from([-1, 4, 1.5]) | JUNK, "value": st.sampled_from(["total", "curve", ""]) | JUNK},
    ),
)
def test_relay_figures_show_the_results_numbers_or_say_why(fn, damage, args):
    concept, value, threshold, time, significant_only, backend = (
        args[k] for k in ("concept", "value", "threshold", "time", "significant_only", "backend"))
    result = DAMAGE[damage](RELAYS)
    calls = {
        "relay_heatmap": lambda: plot.relay_heatmap(result, concept, value=value, threshold=threshold, backend=backend),
        "relay_sizes": lambda: plot.relay_sizes(result, concept, threshold=threshold,
                                                significant_only=significant_only, backend=backend),
        "relay_persistence": lambda: plot.relay_persistence(result, concept, threshold=threshold,
                                                            significant_only=significant_only, backend=backend),
        "elimination_curve": lambda: plot.elimination_curve(result, concept, time, threshold=threshold,
                                                            backend=backend),
    }
    ok, fig = outcome(calls[fn])
    try:
        if not ok:
            return
        assert _is_figure(fig, backend)
        if backend != "matplotlib" or damage != "as is":
            return
        ax = fig.axes[0]
        ci = {"0": 0, "1": 1}.get(concept, concept) if concept is not None else None
        expected = rw.relays_at(RELAYS, threshold) if threshold is not None else RELAYS
        if fn == "relay_heatmap":  # the image is the (node, time) array of the chosen score
            shown = np.ma.filled(ax.images[0].get_array(), np.nan)
            want = RELAYS[value].isel(concept=ci).transpose("node", "time").values
            np.testing.assert_array_equal(shown, want)
        if fn == "relay_sizes" and ci is not None:  # one bar per step: the relay-set size
            sizes = expected["is_relay"].isel(concept=ci).sum("node")
            if significant_only:
                sizes = sizes.where(RELAYS["significant"].isel(concept=ci), 0)
            assert [p.get_height() for p in ax.patches] == sizes.values.tolist()
        if fn == "relay_persistence" and ci is not None:  # the line is relay_drift's persistence
            drift = relay_drift(expected, significant_only=significant_only)
            np.testing.assert_allclose(ax.lines[0].get_ydata(), drift["persistence"].isel(concept=ci).values)
        if fn == "elimination_curve":
            n = RELAYS.sizes["node"]
            assert ax.lines[0].get_xdata().tolist() == list(range(n, -1, -1))
    finally:
        _close(fig)


@pytest.mark.timeout(120)
@FIGURES
@given(
    fn=st.sampled_from(["persistence_index", "compare_architectures"]),
    damage=DAMAGED,
    shape=st.sampled_from(["dict of lists", "dict of lists", "list", "empty dict", "empty list", "dict of junk", "junk"]),
    args=arguments(
        {"value": st.sampled_from(["persistence_index", "mean_relay_size", "fraction_significant"]),
         "chance": st.none() | st.just("mean_total"), "significant_only": st.booleans(), "backend": BACKEND},
        {"value": st.just("bogus") | JUNK, "chance": st.just("bogus") | JUNK},
    ),
)
def test_persistence_index_and_compare_architectures_or_say_why(fn, damage, shape, args):
    value, chance, significant_only, backend = (args[k] for k in ("value", "chance", "significant_only", "backend"))
    result = DAMAGE[damage](RELAYS)
    results = {
        "dict of lists": {"gru": [RELAYS, result], "rnn": [result]},
        "list": [RELAYS, result],
        "empty dict": {},
        "empty list": [],
        "dict of junk": {"gru": 3},
        "junk": "gru",
    }[shape]
    ok, table = outcome(lambda: compare_architectures(results, significant_only=significant_only))
    if ok:
        assert isinstance(table, pd.DataFrame)
        pi = table["persistence_index"].to_numpy(float) if len(table) else np.zeros(0)
        assert np.all(np.isnan(pi) | ((pi >= 0) & (pi <= 1)))
    if fn == "compare_architectures":
        return
    if not ok:
        table = pd.DataFrame({"architecture": ["a", "a", "b"], "run": [0, 1, 0], "persistence_index": [0.1, 0.3, 0.9],
                              "mean_total": [0.0, 0.1, 0.2]})
    ok, fig = outcome(lambda: plot.persistence_index(table, value=value, chance=chance, backend=backend))
    try:
        if ok:
            assert _is_figure(fig, backend)
            if backend == "matplotlib":  # one bar per architecture, at the mean of its runs
                means = table.groupby(["architecture", "run"], sort=False)[value].mean()
                means = means.groupby(level=0, sort=False).mean().to_numpy(float)
                heights = np.array([p.get_height() for p in fig.axes[0].patches], float)
                np.testing.assert_allclose(heights, means)
    finally:
        _close(fig)


# --------------------------------------------------------------------------------------------------
# plot: knockout and causal figures


@pytest.mark.timeout(120)
@FIGURES
@given(
    fn=st.sampled_from(["effect_heatmap", "deletion_plot", "knockout_drops", "plot_knockout_test"]),
    damage=DAMAGED,
    args=arguments(
        {"concept": st.sampled_from([0, 1, 3, "1", "all"]), "variable": st.sampled_from(["accuracy_drop", "margin_drop"]),
         "nodes": st.none() | st.lists(st.sampled_from(["l0.h0", "l0.h1", "l0.h2"]), min_size=1, max_size=3, unique=True),
         "times": st.none() | st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),
         "bins": st.none() | st.integers(1, 8) | st.lists(st.floats(-1, 1), min_size=2, max_size=4, unique=True).map(sorted),
         "ncols": st.integers(1, 4), "backend": BACKEND},
        {"concept": st.sampled_from([4, -1, "9"]) | JUNK, "variable": st.just("bogus") | JUNK,
         "nodes": st.lists(st.sampled_from(["l0.h9", 0, 7, "x"]), max_size=3) | JUNK,
         "times": st.lists(st.integers(-1, 5), max_size=3) | JUNK,
         "bins": st.sampled_from([0, -1, 10**12, [], [1.0, 0.0], [0.0, float("nan")]]) | JUNK,
         "ncols": st.just(0) | JUNK},
    ),
)
def test_knockout_and_causal_figures_show_the_results_numbers_or_say_why(fn, damage, args):
    concept, variable, nodes, times, bins, ncols, backend = (
        args[k] for k in ("concept", "variable", "nodes", "times", "bins", "ncols", "backend"))
    calls = {
        "effect_heatmap": lambda: plot.effect_heatmap(DAMAGE[damage](EFFECTS), concept, variable=variable, nodes=nodes,
                                                      times=times, backend=backend),
        "deletion_plot": lambda: plot.deletion_plot(DAMAGE[damage](CURVE), backend=backend),
        "knockout_drops": lambda: plot.knockout_drops(DAMAGE[damage](KO_TEST), bins=bins, ncols=ncols,
                                                      backend=backend),
        "plot_knockout_test": lambda: plot.plot_knockout_test(DAMAGE[damage](KO_TEST), bins=bins),
    }
    ok, fig = outcome(calls[fn])
    try:
        if not ok:
            return
        if fn == "plot_knockout_test":  # draws into matplotlib axes and returns them
            fig = fig.figure
            backend = "matplotlib"
        assert _is_figure(fig, backend)
        if backend != "matplotlib" or damage != "as is":
            return
        ax = fig.axes[0]
        if fn == "effect_heatmap" and nodes is None and times is None:
            ci = {"1": 1, "all": EFFECTS.sizes["concept"] - 1}.get(concept, concept)
            want = EFFECTS[variable].isel(concept=ci).transpose("node", "time").values
            np.testing.assert_array_equal(np.ma.filled(ax.images[0].get_array(), np.nan), want)
            lo, hi = ax.images[0].get_clim()
            assert lo == -hi
        if fn in ("knockout_drops", "plot_knockout_test"):  # every random set's drop lands in one bar
            assert sum(p.get_height() for p in ax.patches) == KO_TEST.sizes["control"]
        if fn == "deletion_plot":
            np.testing.assert_allclose(ax.lines[1].get_ydata(), CURVE["curve"].isel(ranking=0).values)
    finally:
        _close(fig)


# --------------------------------------------------------------------------------------------------
# relay_information, relay_drift, jaccard


@pytest.mark.timeout(120)
@FUZZ
@given(
    seed=st.integers(0, 2**16),
    ragged=st.booleans(),
    args=arguments(
        {"nodes": st.lists(st.integers(0, 2) | st.sampled_from(["l0.h0", "l0.h1", "l0.h2"]), max_size=3)
                  | st.just([0, 1, 2]),
         "among": st.none() | st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),
         "time": st.integers(0, 3), "concept": st.sampled_from([0, 1, 2, "1", "all"]),
         "estimator": st.sampled_from(["plugin", "plugin", "miller-madow", "gcmi"]),
         "discretizer": st.sampled_from(["two-means", "median"]), "source": st.sampled_from(["input", "label"]),
         "variable": st.just("hidden")},
        {"nodes": st.lists(st.integers(-1, 4) | st.sampled_from(["l0.h9", "x"]), max_size=3) | JUNK,
         "time": st.sampled_from([-1, 4, 1.5]) | JUNK, "concept": st.sampled_from([5, -1, "9", [0, 1]]) | JUNK,
         "estimator": st.just("bogus") | JUNK, "discretizer": st.just("bogus") | JUNK,
         "source": st.just("bogus") | JUNK, "variable": st.sampled_from(["cell", "bogus"]) | JUNK},
    ),
)
def test_relay_information_is_bounded_and_agrees_with_find_relays(seed, ragged, args):
    nodes, among, time, concept, estimator, discretizer, source, variable = (
        args[k] for k in ("nodes", "among", "time", "concept", "estimator", "discretizer", "source", "variable"))
    rec = small_recording(seed, 3, 4, 40, 3, ragged)
    ok, value = outcome(lambda: relay_information(rec, nodes, time=time, concept=concept, estimator=estimator,
                                                  discretizer=discretizer, source=source, among=among,
                                                  variable=variable))
    if not ok:
        return
    assert isinstance(value, float) and math.isfinite(value)
    if estimator != "plugin":
        return
    # plug-in: conditioning on more nodes cannot raise H(O | .), so 0 <= I_R <= H(O) <= log2(outputs)
    bits = np.log2(3) if concept == "all" else 1.0
    assert -1e-9 <= value <= bits + 1e-9
    every = sorted(map(str, rec["node"].values))
    named = sorted({every[n] if isinstance(n, int) else n for n in nodes})
    if among is None and named == every and source == "input":
        # R = N: the relay information of every node is find_relays' total at that step
        total = find_relays(rec, times=[time], concepts=[concept], discretizer=discretizer, n_perm=0,
                            progress=False)["total"].item()
        assert value == pytest.approx(total, abs=1e-9)


@pytest.mark.timeout(120)
@FUZZ
@given(damage=DAMAGED, threshold=st.none() | st.floats(0, 1), significant_only=mostly(st.booleans()))
def test_relay_drift_is_the_jaccard_index_of_consecutive_relay_sets(damage, threshold, significant_only):
    result = DAMAGE[damage](RELAYS if threshold is None else rw.relays_at(RELAYS, threshold))
    ok, drift = outcome(lambda: relay_drift(result, significant_only=significant_only))
    if not ok:
        return
    p = drift["persistence"].values
    assert np.all(np.isnan(p) | ((p >= 0) & (p <= 1)))
    if damage != "as is" or significant_only is not False:
        return
    members = result["is_relay"].transpose("concept", "time", "node").values
    for c in range(members.shape[0]):
        for t in range(1, members.shape[1]):
            a, b = set(np.flatnonzero(members[c, t - 1])), set(np.flatnonzero(members[c, t]))
            want = len(a & b) / len(a | b) if a | b else np.nan
            assert p[c, t] == pytest.approx(want, nan_ok=True)


@pytest.mark.timeout(60)
@FUZZ
@given(a=st.lists(st.booleans(), max_size=8), b=st.lists(st.booleans(), max_size=8))
def test_jaccard_is_symmetric_bounded_and_the_set_formula(a, b):
    n = min(len(a), len(b))
    a, b = np.array(a[:n], bool), np.array(b[:n], bool)
    j = jaccard(a, b)
    assert j == pytest.approx(jaccard(b, a), nan_ok=True)
    sa, sb = set(np.flatnonzero(a)), set(np.flatnonzero(b))
    assert j == pytest.approx(len(sa & sb) / len(sa | sb) if sa | sb else np.nan, nan_ok=True)


# --------------------------------------------------------------------------------------------------
# data loaders


@pytest.mark.timeout(120)
@FUZZ
@given(
    shape=st.tuples(st.integers(4, 16), st.integers(1, 4), st.integers(1, 2))
    | st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 2)),
    args=arguments(
        {"ndim": st.just(3), "poison": st.none(), "labels": st.sampled_from(["ints", "strings", "floats", "bools"]),
         "lengths": st.none() | st.just("valid"), "class_names": st.none(),
         "test_fraction": st.floats(0.01, 0.99), "seed": st.integers(0, 2**31), "normalize": st.booleans(),
         "name": st.just("custom")},
        {"ndim": st.sampled_from([1, 2, 4]), "poison": st.sampled_from([np.nan, np.inf]),
         "labels": st.sampled_from(["one class", "wrong length", "2-D", "mixed"]),
         "lengths": st.sampled_from(["zero", "too long", "float", "wrong length"]) | JUNK,
         "class_names": st.sampled_from([("a", "b", "c", "d"), ("a",), ("a", "a", "b"), ()]) | JUNK,
         "test_fraction": st.sampled_from([0.0, 1.0]) | FLOATS | JUNK, "seed": st.just(-1) | JUNK},
    ),
)
def test_from_arrays_gives_a_consistent_split_or_says_why(shape, args):
    ndim, poison, labels, lengths, class_names, test_fraction, seed, normalize, name = (
        args[k] for k in ("ndim", "poison", "labels", "lengths", "class_names", "test_fraction", "seed", "normalize",
                          "name"))
    rng = np.random.default_rng(0)
    n, t, f = shape
    X = rng.normal(size=(n, t, f, 1)[:ndim])
    if poison is not None and X.size:
        X.flat[X.size // 2] = poison
    y = {
        "ints": np.arange(n) % 4, "strings": np.array(["walk", "run"] * n)[:n], "one class": np.zeros(n, int),
        "floats": rng.normal(size=n), "wrong length": np.arange(n + 1) % 2, "2-D": np.zeros((n, 2), int),
        "mixed": np.array([1, "a"] * n, dtype=object)[:n], "bools": np.arange(n) % 2 == 0,
    }[labels]
    if type(lengths) is str and lengths in ("valid", "zero", "too long", "float", "wrong length"):
        lengths = {"valid": rng.integers(1, max(t, 1) + 1, n), "zero": np.zeros(n, int), "too long": np.full(n, t + 1),
                   "float": np.full(n, 1.5), "wrong length": np.ones(n + 2, int)}[lengths]
    ok, ds = outcome(lambda: from_arrays(X, y, lengths, class_names, test_fraction=test_fraction, seed=seed,
                                         normalize=normalize, name=name))
    if not ok:
        return
    assert ds.X_train.dtype == np.float32 and ds.X_train.ndim == 3 and np.isfinite(ds.X_train).all()
    assert len(ds.y_train) + len(ds.y_test) == n and len(ds.y_train) >= 2 and len(ds.y_test) >= 2
    assert ds.y_train.min() >= 0 and max(ds.y_train.max(), ds.y_test.max()) < len(ds.class_names)
    again = from_arrays(X, y, lengths, class_names, test_fraction=test_fraction, seed=seed, normalize=normalize,
                        name=name)
    np.testing.assert_array_equal(again.X_test, ds.X_test)  # the same seed gives the same split


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=15)
@given(args=arguments(
    {"name": st.sampled_from(["ItalyPowerDemand", "italypowerdemand", "GunPoint"]), "normalize": st.booleans()},
    {"name": st.sampled_from(["ItalyPower", "", "../GunPoint"]) | JUNK},
))
def test_load_dataset_gives_the_bundled_split_or_says_why(args):
    name, normalize = args["name"], args["normalize"]
    pytest.importorskip("aeon")
    ok, ds = outcome(lambda: load_dataset(name, normalize=normalize))
    if ok:
        assert ds.X_train.ndim == 3 and np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
        assert set(np.unique(ds.y_train)) <= set(range(ds.n_classes))
        if normalize:  # z-normalised with the training split's statistics
            np.testing.assert_allclose(ds.X_train.reshape(-1, ds.n_features).mean(0), 0, atol=1e-4)


VALID_TS = (
    "# a comment\n@problemName tiny\n@timeStamps false\n@missing true\n@univariate false\n@dimensions 2\n"
    "@equalLength false\n@classLabel true walk run\n@data\n"
    "1.0,2.0,3.0:0.5,0.25,0.0:walk\n4.0,?,6.0:1.0,1.5,2.0:run\n7.5,8.5:9.5,10.5:walk\n"
)


@pytest.mark.timeout(120)
@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate", "junk line"]), st.integers(0, 10**6),
                  st.binary(min_size=1, max_size=3)),
        max_size=3,
    )
)
def test_read_ts_reads_damaged_text_or_says_why(tmp_path_factory, edits):
    data = bytearray(VALID_TS.encode())
    for kind, at, blob in edits:
        at %= max(len(data), 1)
        if kind == "flip" and data:
            data[at] ^= blob[0] or 1
        elif kind == "insert":
            data[at:at] = blob
        elif kind == "delete":
            del data[at : at + len(blob)]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = b"\n@" + blob + b"\n"
    path = tmp_path_factory.mktemp("ts") / "tiny.ts"
    path.write_bytes(bytes(data))
    ok, out = outcome(lambda: read_ts(str(path)))
    if ok:
        series, labels, header = out
        assert len(series) == len(labels) >= 1
        assert all(s.ndim == 2 and s.dtype == np.float64 and s.shape[1] == series[0].shape[1] for s in series)
        if not edits:
            assert labels == ["walk", "run", "walk"] and np.isnan(series[1][1, 0]) and header["problemname"] == "tiny"


# --------------------------------------------------------------------------------------------------
# sweep


def _size(x) -> int:
    """1 to 3, varying with the point's value: what a ragged return has as its length."""
    return int(x) % 3 + 1 if isinstance(x, (int, float)) and math.isfinite(x) else 1


def _point_value(kind, x):
    """What fn returns at a point, by kind: well-formed values, and values that cannot be gathered."""
    if kind == "raises":
        raise ZeroDivisionError("planted")
    return {
        "scalar": {"y": x},
        "array": {"y": np.arange(3) * 1.0},
        "DataArray": {"y": xr.DataArray([1.0, 2.0], dims=["k"], coords={"k": [0, 1]})},
        "text": {"y": "a"},
        "ragged array": {"y": np.zeros(_size(x))},
        "ragged list": {"y": [[0.0] * _size(x), [1.0]]},
        "object": {"y": object()},
        "None": {"y": None},
        "dict": {"y": {"a": 1}},
        "not a dict": [x],
        "keys vary": {f"y{_size(x) % 2}": 1},
        "grid-named key": {"x": 1},
        "grid-named dim": {"y": xr.DataArray([1.0], dims=["x"])},
        "point dim": {"y": xr.DataArray([1.0, 2.0], dims=["__point__"])},
    }[kind]


@pytest.mark.timeout(120)
@FUZZ
@given(
    grid=st.one_of(
        st.dictionaries(st.sampled_from(["x", "seed", "arch"]), st.lists(st.integers(0, 3), min_size=1, max_size=3,
                                                                        unique=True), min_size=1, max_size=2),
        st.dictionaries(
            st.sampled_from(["x", "seed", "arch", "not valid", "1x", ""]),
            st.one_of(
                st.lists(st.integers(0, 3) | st.sampled_from(["a", "b", 1.0, True, None, float("nan")]), max_size=3),
                st.sampled_from([[[1], [2]], [(0, 1), (1, 0)], range(3), np.arange(2), "ab", 3, None]),
            ),
            max_size=2,
        ),
        JUNK,
    ),
    kind=st.sampled_from(["scalar", "array", "DataArray", "text", "ragged array", "ragged list", "object", "None",
                          "dict", "not a dict", "keys vary", "grid-named key", "grid-named dim", "point dim",
                          "raises"]),
    # no running scheduler here: only addresses that fail fast (a real cluster is tests/test_sweep.py's business)
    args=arguments({"client": st.none(), "n_workers": st.integers(1, 3)},
                   {"client": st.sampled_from(["", "bogus", 3, [], object()])}, max_bad=1),
)
def test_sweep_gathers_every_point_or_says_why(grid, kind, args):
    client, n_workers = args["client"], args["n_workers"]
    def fn(**point):
        return _point_value(kind, next(iter(point.values())))

    ok, ds = outcome(lambda: sweep(fn, grid, client=client, n_workers=n_workers, progress=False))
    if not ok:
        return
    points = grid_points(grid)
    for key, values in grid.items():  # one coordinate value per grid value, each selectable by label
        assert ds.sizes[key] == len(list(values))
        assert not ds.indexes[key].has_duplicates
    if kind == "scalar":  # fn returned the point's first value: the Dataset holds it at that point
        for got, point in zip(ds["y"].values.ravel().tolist(), points):
            want = next(iter(point.values()))
            both_nan = isinstance(got, float) and isinstance(want, float) and math.isnan(got) and math.isnan(want)
            assert got == want or str(got) == str(want) or both_nan, (got, point)


# --------------------------------------------------------------------------------------------------
# the information measures test_fuzz.py does not draw: conditional ones, every estimator, the code helpers


def _discrete(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    return a, (a + rng.integers(0, 2, n)) % k, rng.integers(0, 2, n)


@pytest.mark.timeout(120)
@FUZZ
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(0, 60),
    k=st.integers(1, 4),
    mismatch=st.sampled_from([False, False, False, True]),
    estimator=st.sampled_from(["plugin", "plugin", "miller-madow", "shrinkage", "gcmi", "ksg"]),
    junk=st.sampled_from([None, None, None, "nan", "2-D given", "wrong length", "text", "estimator"]),
)
def test_conditional_measures_are_bounded_or_say_why(seed, n, k, mismatch, estimator, junk):
    from relaywidgets.info import conditional_entropy, conditional_mutual_information, entropy, mutual_information

    a, b, g = _discrete(seed, n, k)
    # the continuous estimators' data (a discrete 'a', continuous b and g), or, on a mismatch, the other kind's
    continuous = (estimator in ("gcmi", "ksg")) != mismatch
    if continuous:
        rng = np.random.default_rng(seed)
        b, g = b + rng.normal(0, 0.1, n), g + rng.normal(0, 0.1, n)
    if junk == "nan" and n:
        a = a.astype(float)
        a[0] = np.nan
    elif junk == "2-D given":
        g = np.zeros((n, 2, 2))
    elif junk == "wrong length":
        g = g[: n // 2]
    elif junk == "text":
        b = np.array(["x"] * n)
    elif junk == "estimator":
        estimator = "bogus"
    ok_h, h_a = outcome(lambda: conditional_entropy(a, g, estimator=estimator))
    ok_i, i_ab = outcome(lambda: conditional_mutual_information(a, b, g, estimator=estimator))
    for ok, value in ((ok_h, h_a), (ok_i, i_ab)):
        if ok:
            assert isinstance(value, float) and math.isfinite(value)
    if estimator != "plugin" or junk is not None or mismatch:
        return
    # plug-in on discrete data: 0 <= H(A|G) <= H(A) and 0 <= I(A;B|G) <= min(H(A|G), H(B|G))
    if ok_h:
        assert -1e-9 <= h_a <= entropy(a) + 1e-9
    if ok_i:
        assert -1e-9 <= i_ab <= min(h_a, conditional_entropy(b, g)) + 1e-9
        assert i_ab <= mutual_information(np.c_[a, g], b) + 1e-9  # I(A;B|G) <= I(A,G;B)


@pytest.mark.timeout(120)
@FUZZ
@given(
    args=arguments(
        {"shape": st.lists(st.integers(1, 5), min_size=1, max_size=3), "method": st.sampled_from(sorted(
            ["two-means", "median", "mean", "zero", "quantile"])), "pooled": st.booleans(), "levels": st.integers(2, 6),
         "poison": st.none(), "as_dataarray": st.booleans()},
        {"shape": st.lists(st.integers(0, 2), max_size=3), "method": st.just("bogus") | JUNK,
         "levels": st.sampled_from([0, 1, 10**9]) | JUNK, "poison": st.sampled_from([np.nan, np.inf])},
    ),
    seed=st.integers(0, 2**16),
)
def test_discretize_gives_codes_within_the_levels_or_says_why(args, seed):
    from relaywidgets.info import discretize

    shape = args["shape"] if isinstance(args["shape"], list) else [3]
    values = np.random.default_rng(seed).normal(size=shape)
    if args["poison"] is not None and values.size:
        values.flat[0] = args["poison"]
    data = xr.DataArray(values, dims=[f"d{i}" for i in range(values.ndim)]) if args["as_dataarray"] else values
    ok, codes = outcome(lambda: discretize(data, args["method"], pooled=args["pooled"], levels=args["levels"]))
    if ok:
        raw = np.asarray(codes)
        assert raw.shape == values.shape and np.issubdtype(raw.dtype, np.integer)
        top = args["levels"] if args["method"] == "quantile" else 2
        missing = np.isnan(values)  # documented: NaN input gives the code -1
        assert np.all(raw[missing] == -1) and np.all((raw[~missing] >= 0) & (raw[~missing] < top))


@pytest.mark.timeout(120)
@FUZZ
@given(seed=st.integers(0, 2**16), n=st.integers(0, 40), columns=st.integers(0, 4), k=st.integers(1, 5),
       junk=st.sampled_from([None, None, "negative", "float", "1-D", "n_states too small", "counts"]))
def test_code_helpers_count_every_sample_once_or_say_why(seed, n, columns, k, junk):
    from relaywidgets.info import combine_codes, count_states, entropy_from_counts, joint_codes

    codes = np.random.default_rng(seed).integers(0, k, (n, columns))
    if junk == "negative" and codes.size:
        codes[0, 0] = -1
    elif junk == "float":
        codes = codes + 0.5
    elif junk == "1-D":
        codes = codes.ravel()
    ok, out = outcome(lambda: joint_codes(codes))
    if not ok:
        return
    joint, n_joint = out
    joint = np.asarray(joint)
    assert joint.shape == (codes.shape[0],) and (joint.size == 0 or (joint.min() >= 0 and joint.max() < n_joint))
    # the same rows get the same joint code, different rows different ones
    if codes.ndim == 2 and n:
        rows = {tuple(r) for r in codes}
        assert len(set(joint.tolist())) == len(rows)
    n_states = max(n_joint - 1, 0) if junk == "n_states too small" else n_joint
    ok, counts = outcome(lambda: count_states(joint, n_states))
    if ok:
        assert counts.sum() == joint.shape[0] and len(counts) == n_states
        ok, h = outcome(lambda: entropy_from_counts(counts if junk != "counts" else -counts))
        if ok:
            assert -1e-9 <= h <= np.log2(max(np.count_nonzero(counts), 1)) + 1e-9
    ok, both = outcome(lambda: combine_codes(joint, n_joint, joint, n_joint))
    if ok:
        assert np.asarray(both[0]).shape == joint.shape and both[1] >= n_joint


@pytest.mark.timeout(120)
@FUZZ
@given(
    args=arguments(
        {"statistic": st.sampled_from(["mutual_information", "entropy", "conditional_mutual_information"]),
         "n_perm": st.integers(1, 20), "seed": st.integers(0, 10), "permute": st.sampled_from(["first", 0, [0]]),
         "bootstrap": st.sampled_from([0, 0, 5]), "alpha": st.floats(0.01, 0.5),
         "quantiles": st.sampled_from([(0.5, 0.9), (0.95,)])},
        {"statistic": st.sampled_from(["bogus", ""]) | JUNK, "n_perm": st.sampled_from([0, -1, 10**12]) | JUNK,
         "seed": st.just(-1) | JUNK, "permute": st.sampled_from(["bogus", 5, [9], []]) | JUNK,
         "bootstrap": st.just(-1) | JUNK, "alpha": st.sampled_from([0.0, 1.0, 2.0]) | FLOATS | JUNK,
         "quantiles": st.sampled_from([(), (1.5,), ("x",)]) | JUNK},
    ),
    seed=st.integers(0, 2**16),
)
def test_permutation_test_gives_a_p_value_in_0_1_or_says_why(args, seed):
    from relaywidgets.info import permutation_test

    a, b, g = _discrete(seed, 30, 3)
    data = {"entropy": (a,), "mutual_information": (a, b), "conditional_mutual_information": (a, b, g)}.get(
        args["statistic"] if isinstance(args["statistic"], str) else "", (a, b))
    ok, result = outcome(lambda: permutation_test(args["statistic"], *data, n_perm=args["n_perm"], seed=args["seed"],
                                                  permute=args["permute"], bootstrap=args["bootstrap"],
                                                  alpha=args["alpha"], quantiles=args["quantiles"]))
    if ok:
        assert 0 < result.p_value <= 1 and math.isfinite(result.estimate) and len(result.null) == args["n_perm"]
        # the p-value is the share of the null at or above the estimate, plus one
        want = (np.sum(np.asarray(result.null) >= result.estimate - 1e-12) + 1) / (args["n_perm"] + 1)
        assert result.p_value == pytest.approx(want)


# --------------------------------------------------------------------------------------------------
# node labels, relay units, agreement, the planted-relay test helpers


@pytest.mark.timeout(60)
@FUZZ
@given(layer=mostly(st.integers(0, 5)), unit=mostly(st.integers(0, 50)),
       module=st.none() | mostly(st.sampled_from(["rnn", "encoder.gru"])), text=st.text(max_size=8))
def test_node_labels_round_trip_or_say_why(layer, unit, module, text):
    from relaywidgets.knockout import node_label, parse_node_label

    ok, label = outcome(lambda: node_label(layer, unit, module))
    if ok:
        assert parse_node_label(label) == (layer, unit)
        assert parse_node_label(label, with_module=True) == (module or None, layer, unit)
    ok, parsed = outcome(lambda: parse_node_label(text))
    if ok:  # only labels of the documented form parse, and they print back as themselves
        assert node_label(*parsed) == text


@pytest.mark.timeout(120)
@FUZZ
@given(
    damage=DAMAGED,
    concept=mostly(st.sampled_from([0, 1, 2, "1"])),
    time=st.none() | mostly(st.integers(0, 3)),
    significant_only=mostly(st.booleans()),
)
def test_relay_units_are_the_relay_cells_or_say_why(damage, concept, time, significant_only):
    from relaywidgets._validation import is_int
    from relaywidgets.knockout import relay_units

    relays = DAMAGE[damage](RELAYS)
    ok, out = outcome(lambda: relay_units(relays, concept, time, significant_only=significant_only))
    if ok and damage == "as is" and (time is None or (is_int(time) and time >= 0)):
        units, _ = out
        labels = {f"l{layer}.h{u}" for layer, us in units.items() for u in us}
        ci = {"1": 1}.get(concept, concept)
        members = RELAYS["is_relay"].isel(concept=ci)
        if time is not None:
            members = members.sel(time=time)
        if significant_only:
            members = members.where(RELAYS["significant"].isel(concept=ci).sel(time=time) if time is not None
                                    else RELAYS["significant"].isel(concept=ci), False)
        want = {str(n) for n in RELAYS["node"].values[np.asarray(members.any(
            [d for d in members.dims if d != "node"]) if members.ndim > 1 else members)]}
        assert labels == want


@pytest.mark.timeout(120)
@FUZZ
@given(
    damage=DAMAGED,
    args=arguments(
        {"k": st.integers(1, 3), "score": st.sampled_from(["contribution", "aggregated_score", "marginal_mi"]),
         "effect": st.sampled_from(["accuracy_drop", "margin_drop"]), "threshold": st.floats(0, 1)},
        {"k": st.sampled_from([0, -1, 10**9]) | JUNK, "score": st.just("bogus") | JUNK,
         "effect": st.just("bogus") | JUNK, "threshold": FLOATS | JUNK},
    ),
)
def test_agreement_of_relay_and_effect_maps_or_says_why(damage, args):
    from relaywidgets.knockout import agreement

    relays = MODEL_RELAYS if damage == "as is" else RELAYS
    ok, out = outcome(lambda: agreement(relays, DAMAGE[damage](EFFECTS), k=args["k"], score=args["score"],
                                        effect=args["effect"], threshold=args["threshold"]))
    if ok:
        assert isinstance(out, xr.Dataset)
        for name in out.data_vars:
            values = np.asarray(out[name].values)
            if values.dtype.kind == "f":
                assert np.all(np.isnan(values) | np.isfinite(values))


@pytest.mark.timeout(120)
@FUZZ
@given(
    kind=mostly(st.sampled_from(["single", "and", "copies", "xor", "independent"])),
    args=arguments(
        {"n_nodes": st.integers(3, 6), "n_samples": st.integers(50, 200), "n_steps": st.integers(1, 3),
         "seed": st.integers(0, 100), "noise": st.floats(0, 0.3)},
        {"n_nodes": st.sampled_from([0, 1, -1]) | JUNK, "n_samples": st.sampled_from([0, 1, 10**12]) | JUNK,
         "n_steps": st.sampled_from([0, -1]) | JUNK, "seed": st.just(-1) | JUNK,
         "noise": st.sampled_from([-1.0]) | FLOATS | JUNK},
    ),
)
def test_planted_relays_give_valid_recordings_or_say_why(kind, args):
    from relaywidgets.testing import planted_relay

    ok, out = outcome(lambda: planted_relay(kind, **args))
    if ok:
        rec, planted = out
        rw.check_recording(rec)
        assert rec.sizes["node"] == args["n_nodes"] and rec.sizes["sample"] == args["n_samples"]
        assert planted <= set(range(args["n_nodes"]))


# --------------------------------------------------------------------------------------------------
# what the fuzzing above found, kept as explicit cases


def test_an_elimination_curve_of_a_result_without_steps_is_refused():
    # was: ValueError: zero-size array to reduction operation minimum which has no identity
    with pytest.raises(rw.InputError, match="elimination_curve: relays holds no times"):
        plot.elimination_curve(RELAYS.isel(time=slice(0, 0)), 0, 0)


@pytest.mark.parametrize("bins", [0, -1, 10**12, 1.5, True, [], [0.5], [1.0, 0.0], [0.0, float("nan")], "auto"])
def test_histogram_bins_are_checked(bins):
    # were: numpy's ValueError/TypeError, a MemoryError for 10**12, and an empty histogram without error for []
    with pytest.raises(rw.InputError, match="'bins' parameter of (knockout_drops|plot_knockout_test)"):
        plot.knockout_drops(KO_TEST, bins=bins)
    with pytest.raises(rw.InputError, match="'bins' parameter of plot_knockout_test"):
        plot.plot_knockout_test(KO_TEST, bins=bins)


def test_figure_arguments_of_the_wrong_type_are_our_errors():
    # were: TypeError: unhashable type: 'list'; TypeError: '<' not supported between 'NoneType' and 'str'
    with pytest.raises(rw.InputError, match="'variable' parameter of effect_heatmap"):
        plot.effect_heatmap(EFFECTS, 1, variable=[])
    table = compare_architectures({"gru": [RELAYS]})
    with pytest.raises(rw.InputError, match="'value' parameter of persistence_index must be a column name"):
        plot.persistence_index(table, value=None)
    with pytest.raises(rw.InputError, match="'chance' parameter of persistence_index"):
        plot.persistence_index(table, chance=3)


def test_compare_architectures_refuses_an_entry_that_is_not_a_result():
    # was: TypeError: 'int' object is not iterable
    with pytest.raises(rw.InputError, match="the entry 'gru' must be a find_relays result or a list"):
        compare_architectures({"gru": 3})


def test_read_ts_reports_files_it_cannot_read_as_text(tmp_path):
    # were: UnicodeDecodeError, IndexError (an empty @classLabel), IsADirectoryError, FileNotFoundError
    path = tmp_path / "x.ts"
    path.write_bytes(VALID_TS.encode().replace(b"walk\n", b"w\xa3lk\n", 1))
    with pytest.raises(rw.InputError, match=r"x.ts:10: the file is not UTF-8 text \(byte 0xa3\)"):
        read_ts(str(path))
    path.write_text(VALID_TS.replace("@classLabel true walk run", "@classLabel"))
    with pytest.raises(rw.InputError, match="not a classification file"):
        read_ts(str(path))
    for where in (tmp_path, tmp_path / "missing.ts"):
        with pytest.raises(rw.InputError, match="Could not read the .ts file"):
            read_ts(str(where))


@pytest.mark.parametrize(
    "grid, match",
    [({"x": [[1], [2]]}, "must be single values"), ({"x": [1, 1.0]}, "become the same coordinate label"),
     ({"x": [True, 1]}, "become the same coordinate label"), ({"x": [float("nan"), float("nan")]}, "repeats the value")],
)
def test_sweep_refuses_grid_values_that_are_not_distinct_labels(grid, match):
    # were: xarray's MissingDimensionsError; coordinates with repeated labels (1.0, 1.0) that sel() cannot tell apart
    with pytest.raises(rw.InputError, match=match):
        sweep(lambda x: {"y": 1}, grid, progress=False)


@pytest.mark.parametrize(
    "returned, match",
    [(lambda x: {"y": np.zeros(x)}, "has shape .* Return the same shape"),
     (lambda x: {"y": [[0.0] * x, [1.0]]}, "nested list of uneven lengths"),
     (lambda x: {"y": xr.DataArray([1.0, 2.0], dims=["__point__"])}, "sweep's own '__point__'")],
    ids=["ragged-array", "ragged-list", "point-dim"],
)
def test_sweep_refuses_returned_values_it_cannot_stack(returned, match):
    # were: xarray's AlignmentError, numpy's inhomogeneous-shape ValueError, "axes don't match array"
    with pytest.raises(rw.InputError, match=match):
        sweep(returned, {"x": [1, 2]}, progress=False)


def test_permutation_test_refuses_quantiles_that_are_not_a_sequence():
    # was: TypeError: 'NoneType' object is not iterable
    from relaywidgets.info import permutation_test

    a, b, _ = _discrete(0, 30, 3)
    with pytest.raises(rw.InputError, match="'quantiles' parameter of permutation_test must be a sequence"):
        permutation_test("mutual_information", a, b, n_perm=5, quantiles=None)


@pytest.mark.parametrize("kwargs", [{"n_nodes": None}, {"n_nodes": float("nan")}, {"n_samples": 10**12},
                                    {"n_steps": 0}, {"seed": -1}, {"noise": float("inf")}])
def test_planted_relay_checks_its_arguments(kwargs):
    # were: TypeError ('<' between NoneType and int; a float is not an integer) and a raw MemoryError
    from relaywidgets.testing import latched_cue, planted_relay

    with pytest.raises(rw.InputError, match="parameter of planted_relay|would need about"):
        planted_relay("and", **kwargs)
    if "noise" not in kwargs:
        with pytest.raises(rw.InputError, match="parameter of latched_cue|would need about"):
            latched_cue(**kwargs)


@pytest.mark.parametrize("args", [(0, None), (-1, 2), (0, 1.5), (True, 0), (0, 1, "a:b")])
def test_node_label_refuses_what_it_could_not_parse_back(args):
    # was: 'l0.hNone', 'l-1.h2', 'l0.h1.5', ... labels that parse_node_label then refuses
    from relaywidgets.knockout import node_label

    with pytest.raises(rw.InputError, match="parameter of node_label"):
        node_label(*args)


def test_agreement_refuses_a_score_that_is_not_a_name():
    # was: TypeError: unhashable type: 'list' (from the relay-result check)
    from relaywidgets.knockout import agreement

    with pytest.raises(rw.InputError, match="must be named by a str"):
        agreement(RELAYS, EFFECTS, score=[])


def test_agreement_refuses_an_effect_that_is_not_a_name():
    # was a raw TypeError: effect= was looked up in the Dataset before it was checked
    from relaywidgets.knockout import agreement

    for effect in ([], None, 3, ("accuracy_drop",)):
        with pytest.raises(rw.RelaywidgetsError, match="'effect' parameter of agreement must be the name"):
            agreement(MODEL_RELAYS, EFFECTS, effect=effect)


@pytest.mark.parametrize("time", [1.5, object(), [], "3", True], ids=["float", "object", "empty", "str", "bool"])
def test_relay_units_refuses_a_time_that_is_neither_an_int_nor_a_list(time):
    # were raw errors: list(time) on a float, and a reshape of no steps
    from relaywidgets.knockout import relay_units

    with pytest.raises(rw.RelaywidgetsError, match="'time' parameter must be an int"):
        relay_units(RELAYS, 0, time)


@pytest.mark.parametrize("codes, n_states", [([0, 3], 2), ([-1, 0], 2), ([0.5], 1), ([0], -1), ([0], 1.5)])
def test_count_states_refuses_codes_beyond_its_states(codes, n_states):
    # were: a count vector longer than n_states without error; numpy's ValueError/TypeError for the others
    from relaywidgets.info import count_states

    with pytest.raises(rw.InputError, match="count_states"):
        count_states(np.asarray(codes), n_states)


@pytest.mark.parametrize("counts", [[5, -5, 5], [1, np.nan], ["a", "b"]])
def test_entropy_from_counts_refuses_negative_or_missing_counts(counts):
    # was: [5, -5, 5] -> 1.0 bit (the negative count silently dropped); NaN counts -> NaN; text a raw ValueError
    from relaywidgets.info import entropy_from_counts

    with pytest.raises(rw.InputError, match="finite, non-negative counts"):
        entropy_from_counts(counts)


@pytest.mark.parametrize("dim", ["concept", "time", "node"])
def test_a_relay_result_sliced_to_nothing_is_refused(dim):
    # was: raw reshape/min errors in relay_units and the figures
    from relaywidgets.knockout import relay_units

    empty = RELAYS.isel({dim: slice(0, 0)})
    with pytest.raises(rw.KnockoutError, match=f"holds no {dim}s"):
        relay_units(empty, 0)
    with pytest.raises(rw.InputError, match=f"holds no {dim}s"):
        plot.relay_heatmap(empty, 0)


@pytest.mark.timeout(60)
@FUZZ
@given(
    thing=st.sampled_from(["an instance", "the class", "no name", "bad kind", "not an estimator"]) | JUNK,
)
def test_register_estimator_takes_estimator_classes_only_and_never_breaks_the_registry(thing):
    from relaywidgets.info import Estimator, PluginEstimator, estimators, get_estimator, register_estimator
    from relaywidgets.info.registry import _REGISTRY

    class Fuzzed(PluginEstimator):
        name = "fuzzed-plugin"

    class BadKind(PluginEstimator):
        name, kind = "fuzzed-bad-kind", "neither"

    obj = {"an instance": PluginEstimator(), "the class": Fuzzed, "no name": type("NoName", (Estimator,), {}),
           "bad kind": BadKind, "not an estimator": int}.get(thing, thing) if isinstance(thing, str) else thing
    before = dict(_REGISTRY)
    try:
        ok, registered = outcome(lambda: register_estimator(obj))
        if ok:
            assert registered is obj and get_estimator(obj.name).name == obj.name
        else:
            assert _REGISTRY == before  # a refused registration changes nothing
        # whatever happened, every registered name still builds an estimator that computes
        assert set(estimators()) >= {"plugin", "miller-madow", "shrinkage", "gcmi", "ksg"}
        assert find_relays(REC, n_perm=0, progress=False)["is_relay"].dtype == bool
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(before)


def test_registering_an_estimator_instance_is_refused_and_find_relays_still_works():
    # was: accepted, after which every find_relays raised AttributeError: 'PluginEstimator' object has no __name__
    from relaywidgets.info import PluginEstimator, register_estimator

    with pytest.raises(rw.InputError, match="register_estimator takes a subclass"):
        register_estimator(PluginEstimator())
    assert find_relays(REC, n_perm=0, progress=False)["is_relay"].dtype == bool
