"""relaywidgets.plot: every figure shows the numbers it is given (matplotlib on Agg, and bqplot marks)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from relaywidgets import plot  # noqa: E402
from relaywidgets.errors import InputError  # noqa: E402
from relaywidgets.relay import find_relays, relay_drift, relays_at  # noqa: E402
from relaywidgets.testing import latched_cue, make_recording, planted_relay  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def latch_result():
    """Two concepts over 5 steps; the latch unit (node 2) is the only relay of each at every step."""
    rec = latched_cue(n_nodes=4, n_steps=5, n_samples=600, seed=1)
    return find_relays(rec, n_perm=20, progress=False, seed=0)


@pytest.fixture(scope="module")
def and_result():
    """output = node0 AND node1, five nodes, one step: the relay set is {node0, node1}."""
    rec, _ = planted_relay("and", n_nodes=5, n_samples=1500)
    return find_relays(rec, concepts=[1], n_perm=20, progress=False)


def _with_membership(result: xr.Dataset, members: np.ndarray) -> xr.Dataset:
    """The result with a hand-set relay membership (concept, time, node) and sizes to match."""
    out = result.copy()
    out["is_relay"] = (("concept", "time", "node"), members.astype(bool))
    out["relay_size"] = (("concept", "time"), members.sum(axis=-1).astype(np.int64))
    return out


# ---------------------------------------------------------------- heat map


def test_heatmap_image_is_the_contribution_and_marks_the_relays(latch_result):
    fig = plot.relay_heatmap(latch_result, "1")
    ax = fig.axes[0]
    image = np.ma.filled(ax.images[0].get_array(), np.nan)
    expected = latch_result.contribution.sel(concept="1").transpose("node", "time").values
    np.testing.assert_array_equal(image, expected)
    filled, hollow = ax.collections[:2]
    cells = np.vstack([filled.get_offsets(), hollow.get_offsets()])
    # the latch unit, node 2, at each of the 5 steps (x = step index, y = node index)
    assert sorted(map(tuple, cells.tolist())) == [(t, 2.0) for t in range(5)]
    sig = latch_result.significant.sel(concept="1").values
    assert len(filled.get_offsets()) == int(sig.sum())


def test_heatmap_concept_by_class_index_and_by_label_agree(latch_result):
    a = plot.relay_heatmap(latch_result, 0).axes[0].images[0].get_array()
    b = plot.relay_heatmap(latch_result, "0").axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.ma.filled(a, -1), np.ma.filled(b, -1))


def test_heatmap_other_value_and_threshold(and_result):
    fig = plot.relay_heatmap(and_result, 1, value="marginal_mi", threshold=0.5)
    ax = fig.axes[0]
    np.testing.assert_array_equal(
        np.ma.filled(ax.images[0].get_array(), np.nan),
        and_result.marginal_mi.sel(concept="1").transpose("node", "time").values,
    )
    # at threshold 0.5 a single node of the AND pair already holds enough (I_R({a}) = 0.5 bit >= 0.5 * 0.81)
    n_marks = sum(len(c.get_offsets()) for c in ax.collections[:2])
    assert n_marks == int(relays_at(and_result, 0.5).relay_size.item()) == 1


def test_heatmap_bqplot_marks_hold_the_data(latch_result):
    pytest.importorskip("bqplot")
    fig = plot.relay_heatmap(latch_result, "0", backend="bqplot")
    grid, sig_marks, ns_marks = fig.marks
    expected = latch_result.contribution.sel(concept="0").transpose("node", "time").values
    np.testing.assert_array_equal(grid.color, expected)
    assert list(grid.row) == list(latch_result.node.values)
    xs = np.concatenate([sig_marks.x, ns_marks.x]).tolist()
    ys = np.concatenate([sig_marks.y, ns_marks.y]).tolist()
    assert sorted(xs) == [0, 1, 2, 3, 4]
    assert set(ys) == {"l0.h2"}


def test_heatmap_errors(latch_result):
    with pytest.raises(InputError, match="'concept' parameter of relay_heatmap"):
        plot.relay_heatmap(latch_result, "7")
    with pytest.raises(InputError, match="'backend' parameter of relay_heatmap"):
        plot.relay_heatmap(latch_result, "1", backend="plotly")
    with pytest.raises(InputError, match="'value' parameter"):
        plot.relay_heatmap(latch_result, "1", value="curve")
    with pytest.raises(InputError, match="find_relays"):
        plot.relay_heatmap(xr.Dataset(), "1")


# ---------------------------------------------------------------- relay-set sizes


def test_relay_sizes_one_bar_per_step(latch_result):
    members = np.zeros((2, 5, 4), bool)
    sizes = [1, 3, 0, 2, 4]
    for t, k in enumerate(sizes):
        members[1, t, :k] = True
    res = _with_membership(latch_result, members)
    ax = plot.relay_sizes(res, "1").axes[0]
    assert len(ax.patches) == res.sizes["time"]
    assert [float(p.get_height()) for p in ax.patches] == sizes


def test_relay_sizes_one_line_per_concept(latch_result):
    ax = plot.relay_sizes(latch_result).axes[0]
    assert len(ax.lines) == 2
    for line in ax.lines:
        assert line.get_ydata().tolist() == [1.0] * 5  # the latch unit alone


def test_relay_sizes_per_architecture_mean_and_band(latch_result):
    def sized(k):  # every concept and step holds k nodes
        members = np.zeros((2, 5, 4), bool)
        members[..., :k] = True
        return _with_membership(latch_result, members)

    fig = plot.relay_sizes({"rnn": [sized(1), sized(3)], "gru": sized(4)})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["rnn", "gru"]
    assert ax.lines[0].get_ydata().tolist() == [2.0] * 5  # mean of runs with 1 and 3 nodes
    assert ax.lines[1].get_ydata().tolist() == [4.0] * 5
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # the rnn run range: 1 .. 3
    assert band.min() == 1.0 and band.max() == 3.0


def test_relay_sizes_bqplot(latch_result):
    pytest.importorskip("bqplot")
    fig = plot.relay_sizes(latch_result, "0", backend="bqplot")
    bars = fig.marks[0]
    assert bars.y.tolist() == latch_result.relay_size.sel(concept="0").values.tolist()
    assert bars.x.tolist() == latch_result.time.values.tolist()
    fig = plot.relay_sizes({"lstm": [latch_result, latch_result]}, backend="bqplot")
    line = [m for m in fig.marks if m.labels == ["lstm"]][0]
    assert line.y.tolist() == [1.0] * 5


def test_relay_sizes_needs_same_times(latch_result):
    with pytest.raises(InputError, match="same time steps"):
        plot.relay_sizes({"a": latch_result, "b": latch_result.isel(time=slice(0, 3))})


# ---------------------------------------------------------------- persistence


def test_persistence_is_the_jaccard_index_of_consecutive_sets(latch_result):
    members = np.zeros((2, 5, 4), bool)
    # concept "1": {0,1} -> {1,2} (1/3) -> {1,2} (1) -> {} -> {3} (0)
    members[1, 0, [0, 1]] = True
    members[1, 1, [1, 2]] = True
    members[1, 2, [1, 2]] = True
    members[1, 4, [3]] = True
    res = _with_membership(latch_result, members)
    y = plot.relay_persistence(res, "1").axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(y, [np.nan, 1 / 3, 1.0, 0.0, 0.0])


def test_persistence_of_a_latch_is_one(latch_result):
    ax = plot.relay_persistence(latch_result).axes[0]
    for line in ax.lines:
        np.testing.assert_array_equal(line.get_ydata(), [np.nan, 1, 1, 1, 1])


def test_persistence_chance_reference_and_bqplot(latch_result):
    chance = {"gru": [np.nan, 0.25, 0.25, 0.25, 0.25]}
    ax = plot.relay_persistence({"gru": latch_result}, chance=chance).axes[0]
    assert ax.lines[-1].get_linestyle() == "--"
    np.testing.assert_array_equal(ax.lines[-1].get_ydata(), chance["gru"])
    pytest.importorskip("bqplot")
    fig = plot.relay_persistence({"gru": latch_result}, chance=chance, backend="bqplot")
    expected = relay_drift(latch_result).persistence.mean("concept").values
    np.testing.assert_array_equal(fig.marks[0].y, expected)
    np.testing.assert_array_equal(fig.marks[-1].y, chance["gru"])


def test_persistence_index_means_over_runs():
    table = pd.DataFrame(
        {
            "architecture": ["rnn"] * 4 + ["lstm"] * 2,
            "run": [0, 0, 1, 1, 0, 0],
            "concept": ["0", "1"] * 3,
            "persistence_index": [0.1, 0.3, 0.5, 0.7, 0.8, 1.0],
            "chance": [0.2] * 6,
        }
    )
    ax = plot.persistence_index(table, chance="chance").axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [0.4, 0.9])  # rnn runs 0.2, 0.6; lstm 0.9
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[0, 0.2], [0, 0.6], [1, 0.9]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rnn", "lstm"]
    pytest.importorskip("bqplot")
    fig = plot.persistence_index(table, backend="bqplot")
    np.testing.assert_allclose(fig.marks[0].y, [0.4, 0.9])
    np.testing.assert_allclose(fig.marks[1].y, [0.2, 0.6, 0.9])
    with pytest.raises(InputError, match="compare_architectures"):
        plot.persistence_index(table.drop(columns="run"))


def test_persistence_index_accepts_compare_architectures(latch_result):
    from relaywidgets.relay import compare_architectures

    table = compare_architectures({"latch": [latch_result, latch_result]})
    ax = plot.persistence_index(table).axes[0]
    assert [p.get_height() for p in ax.patches] == [1.0]


# ---------------------------------------------------------------- elimination curve


def test_elimination_curve_and_cut(and_result):
    ax = plot.elimination_curve(and_result, 1, 0).axes[0]
    curve = ax.lines[0]
    assert curve.get_xdata().tolist() == [5, 4, 3, 2, 1, 0]
    np.testing.assert_array_equal(curve.get_ydata(), and_result.curve.sel(concept="1", time=0).values)
    verticals = [line for line in ax.lines if len(set(line.get_xdata())) == 1 and line is not curve]
    assert verticals[0].get_xdata()[0] == 2  # the planted AND pair
    threshold_line = [line for line in ax.lines if line.get_linestyle() == "--"][0]
    assert threshold_line.get_ydata()[0] == pytest.approx(0.9 * float(and_result.total.item()))
    ax = plot.elimination_curve(and_result, 1, 0, threshold=0.5).axes[0]
    verticals = [line for line in ax.lines[1:] if len(set(line.get_xdata())) == 1]
    assert verticals[0].get_xdata()[0] == 1
    with pytest.raises(InputError, match="'time' parameter of elimination_curve"):
        plot.elimination_curve(and_result, 1, 3)


def test_elimination_curve_bqplot(and_result):
    pytest.importorskip("bqplot")
    fig = plot.elimination_curve(and_result, "1", 0, backend="bqplot")
    assert fig.marks[0].x.tolist() == [5, 4, 3, 2, 1, 0]
    np.testing.assert_array_equal(fig.marks[0].y, and_result.curve.sel(concept="1", time=0).values)
    assert fig.marks[2].x.tolist() == [2, 2]


# ---------------------------------------------------------------- knockout drops


def _knockout_test(drops, relay, concept, p=0.01, members=3):
    return xr.Dataset(
        {
            "random_drops": ("control", np.asarray(drops, float)),
            "relay_drop": relay,
            "p_value": p,
            "effect_size": 2.0,
            "relay_nodes": ("member", [f"l0.h{i}" for i in range(members)]),
        },
        attrs={"concept": concept},
    )


def test_knockout_drops_histogram_per_class():
    rng = np.random.default_rng(0)
    tests = {c: _knockout_test(rng.uniform(0, 0.2, 50), 0.1 + 0.2 * i, c) for i, c in enumerate(["a", "b", "c", "d"])}
    fig = plot.knockout_drops(tests, bins=8, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4
    for ax, (name, test) in zip(visible, tests.items()):
        counts, _ = np.histogram(test.random_drops.values, bins=8)
        assert [p.get_height() for p in ax.patches] == counts.tolist()
        assert ax.lines[0].get_xdata()[0] == pytest.approx(float(test.relay_drop))
        assert ax.get_title().startswith(f"class {name}, 3 relay nodes")


def test_knockout_drops_bqplot():
    pytest.importorskip("bqplot")
    drops = [0.0, 0.0, 0.1, 0.3]
    fig = plot.knockout_drops(_knockout_test(drops, 0.5, "2"), bins=3, backend="bqplot")
    bars, line = fig.marks
    assert bars.y.tolist() == np.histogram(drops, bins=3)[0].tolist()
    assert line.x.tolist() == [0.5, 0.5]
    grid = plot.knockout_drops([_knockout_test(drops, 0.5, "1"), _knockout_test(drops, 0.2, "2")], bins=3,
                               backend="bqplot")
    assert [f.marks[1].x[0] for f in grid.children] == [0.5, 0.2]


def test_knockout_drops_errors():
    with pytest.raises(InputError, match="relay_knockout_test"):
        plot.knockout_drops({"a": {"random_drops": [0.1]}})
    with pytest.raises(InputError, match="'ncols' parameter"):
        plot.knockout_drops(_knockout_test([0.1], 0.2, "1"), ncols=0)


def test_knockout_drops_of_a_real_knockout_test():
    """The figure reads relay_knockout_test's own result (a tiny, briefly trained network: the contract matters)."""
    torch = pytest.importorskip("torch")
    from relaywidgets import RecurrentClassifier, make_task, record, train
    from relaywidgets.knockout import relay_knockout_test

    torch.manual_seed(0)
    X, y = make_task("delayed-cue", n_samples=200, seq_len=5, n_classes=2, seed=0)
    model = RecurrentClassifier("gru", 2, 4, 2, device="cpu")
    train(model, X, y, epochs=5, progress=False)
    relays = find_relays(record(model, X, y), n_perm=0, progress=False)
    test = relay_knockout_test(model, X, y, relays, concept=1, n_random=20, significant_only=False)
    fig = plot.knockout_drops({"1": test})
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 20
    assert ax.lines[0].get_xdata()[0] == pytest.approx(float(test.relay_drop))


# ---------------------------------------------------------------- layering


def test_import_loads_no_plotting_library():
    code = "import sys, relaywidgets.plot; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert not {"matplotlib", "bqplot", "ipywidgets", "torch"} & set(out.stdout.split())


def test_make_recording_result_with_nan_steps_plots():
    """A step with too few running samples is NaN in the result; the heat map masks it."""
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(3, 3, 200))
    lengths = np.full(200, 3)
    lengths[1:] = 2  # only sample 0 reaches step 2
    pred = (hidden[0, 0] > 0).astype(int)
    rec = make_recording(hidden, pred, lengths=lengths, num_classes=2)
    with pytest.warns(UserWarning):
        res = find_relays(rec, concepts=[1], n_perm=0, progress=False)
    image = plot.relay_heatmap(res, 1).axes[0].images[0].get_array()
    assert image.mask[:, 2].all() and not image.mask[:, 0].any()
