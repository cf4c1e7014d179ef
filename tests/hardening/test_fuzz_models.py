"""Fuzz suite, part 2: the entry points that run a network — stepwise, record, save/load, evaluate, effect maps,
causal sets, deletion curves, KnockoutSession — under drawn arguments. A correct result (checked where cheap) or a
RelaywidgetsError with a message; a raw torch/numpy error fails, and each case runs under a timeout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import relaywidgets as rw
from relaywidgets.knockout import KnockoutSession, causal_set, deletion_curve, effect_map, evaluate, unit_effects
from relaywidgets.relay import ConstantOutputWarning

from test_fuzz import FUZZ, JUNK, arguments, mostly, outcome  # noqa: E402 (the sibling module, on sys.path under pytest)

X, Y = rw.make_task("delayed-cue", n_samples=24, seq_len=4, seed=0)
# seed 8: an untrained network that predicts several classes on X, so that its relay map is not all zero
MODEL = rw.RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=8)


@pytest.mark.timeout(120)
@FUZZ
@given(
    fn=st.sampled_from(["effect_map", "unit_effects", "causal_set", "deletion_curve"]),
    window=mostly(st.integers(1, 5)),
    n_boot=mostly(st.integers(0, 20)),
    concept=mostly(st.sampled_from([0, 1, 3, "all", "2"])),
    target=mostly(st.floats(0.01, 1.0)),
    ks=mostly(st.lists(st.integers(1, 3), min_size=1, max_size=3)),
    value=mostly(st.sampled_from(["zero", 0.5, -1.0])),
    ranking=mostly(st.sampled_from(["readout", "grad_x_act", "effect"])),
)
def test_causal_maps_give_bounded_results_or_our_errors(fn, window, n_boot, concept, target, ks, value, ranking):
    calls = {
        "effect_map": lambda: effect_map(MODEL, X, Y, window=window, n_boot=n_boot, value=value, progress=False),
        "unit_effects": lambda: unit_effects(MODEL, X, Y, n_boot=n_boot, value=value, progress=False),
        "causal_set": lambda: causal_set(MODEL, X, Y, concept, target=target, value=value, progress=False),
        "deletion_curve": lambda: deletion_curve(MODEL, X, Y, ranking, concept, ks=ks, n_random=5, value=value,
                                                 progress=False),
    }
    ok, result = outcome(calls[fn])
    if ok and fn in ("effect_map", "unit_effects"):
        drops = result.accuracy_drop.values
        assert np.all((drops >= -1 - 1e-9) & (drops <= 1 + 1e-9) | np.isnan(drops))
    if ok and fn == "causal_set":
        assert 0 <= int(result.set_size) <= len(MODEL.node_labels)
    if ok and fn == "deletion_curve":
        assert 0 < float(result.p_value.max()) <= 1


@pytest.mark.timeout(120)
@FUZZ
@given(
    x=st.one_of(
        st.just(X),
        st.builds(lambda s: np.zeros(s, np.float32), st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 5))),
        st.builds(lambda v: np.full((2, 3, 4), v, np.float32), st.floats(allow_nan=True, allow_infinity=True, width=32)),
        JUNK,
    ),
    y=st.one_of(st.just(Y), st.builds(lambda v: np.full(24, v), st.integers(-2, 6)), JUNK),
    lengths=st.one_of(st.none(), st.builds(lambda v: np.full(24, v), st.integers(-1, 6)), JUNK),
    batch=mostly(st.integers(1, 50)),
)
def test_record_and_evaluate_give_results_or_our_errors(x, y, lengths, batch):
    ok, rec = outcome(lambda: rw.record(MODEL, x, y, lengths=lengths, batch_size=batch))
    if ok:
        rw.check_recording(rec)
        assert rec.sizes["sample"] == len(np.asarray(x))
    ok, res = outcome(lambda: evaluate(MODEL, x, y, lengths=lengths))
    if ok:
        assert 0.0 <= float(res.accuracy) <= 1.0


@pytest.mark.timeout(120)
@FUZZ
@given(
    kind=st.sampled_from(["rnn", "lstm", "gru"]),
    layers=st.integers(1, 2),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    proj=st.booleans(),
    hidden=st.integers(1, 4),
)
def test_stepwise_matches_torch_or_refuses(kind, layers, batch_first, bidirectional, proj, hidden):
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    kwargs = {"proj_size": 1} if proj and kind == "lstm" and hidden > 1 else {}
    torch.manual_seed(0)
    rnn = cls(2, hidden, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional, **kwargs)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = rnn
            self.out = nn.Linear(hidden * (2 if bidirectional else 1) if not kwargs else 1 * (2 if bidirectional else 1), 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seq, _ = self.rnn(x if batch_first else x.transpose(0, 1))
            last = seq[:, -1] if batch_first else seq[-1]
            return self.out(last)

    net = Net().eval()
    ok, wrapped = outcome(lambda: rw.stepwise(net))
    if bidirectional or kwargs:
        assert not ok, "bidirectional and proj_size must be refused"
        return
    assert ok
    x = torch.randn(5, 4, 2)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), net(x), atol=1e-5, rtol=0)


@pytest.mark.timeout(120)
@FUZZ
@given(position=st.integers(0, 10**6), flip=st.integers(1, 255), truncate=st.booleans())
def test_corrupted_model_files_are_refused_or_load_the_same_weights(tmp_path_factory, position, flip, truncate):
    path = tmp_path_factory.mktemp("m") / "model.pt"
    rw.save(MODEL, path)
    data = bytearray(path.read_bytes())
    if truncate:
        data = data[: position % len(data)]
    else:
        data[position % len(data)] ^= flip
    path.write_bytes(bytes(data))
    ok, loaded = outcome(lambda: rw.load(path, device="cpu"))
    if ok:  # a change outside the weights and config (e.g. zip padding) may be harmless: then nothing changed
        for a, b in zip(MODEL.state_dict().values(), loaded.state_dict().values()):
            assert torch.equal(a, b)


@pytest.mark.timeout(120)
@FUZZ
@given(nodes=st.lists(st.one_of(st.sampled_from(MODEL.node_labels), st.integers(-1, 5), JUNK), max_size=4))
def test_session_toggles_give_the_api_numbers_or_our_errors(nodes):
    session = KnockoutSession(MODEL, X, Y)
    for node in nodes:
        ok, _ = outcome(lambda: session.toggle(node))
    result = session.result
    expected = evaluate(MODEL, X, Y, knockout=rw.Knockout(list(result.nodes)) if result.nodes else None)
    assert float(result.accuracy) == pytest.approx(float(expected.accuracy))


@pytest.mark.timeout(120)
@FUZZ
@given(
    # not JUNK's 10**12: that many epochs is a valid (endless) request, not bad input
    epochs=st.one_of(st.integers(1, 2), st.sampled_from([0, -1, None, 1.5, "2", True])),
    lr=mostly(st.floats(1e-4, 0.1)),
    batch=mostly(st.integers(1, 30)),
    val=mostly(st.sampled_from([None, 0.0, 0.2, 0.5])),
    seed=mostly(st.integers(0, 3)),
)
def test_train_learns_or_refuses_without_touching_the_weights(epochs, lr, batch, val, seed):
    model = rw.RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    ok, history = outcome(lambda: rw.train(model, X, Y, epochs=epochs, lr=lr, batch_size=batch, val_fraction=val,
                                           seed=seed, progress=False))
    if ok:
        assert len(history.train_loss) >= 1 and all(np.isfinite(history.train_loss))
    else:
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.timeout(120)
@FUZZ
@given(
    fn=st.sampled_from(["keep_set", "relay_knockout_test"]),
    concept=mostly(st.sampled_from([0, 2, "all", "1"])),
    tolerance=mostly(st.floats(0.0, 1.0)),
    n_random=mostly(st.integers(1, 8)),
    seed=mostly(st.integers(0, 5)),
)
def test_keep_sets_and_relay_knockout_tests_give_results_or_our_errors(fn, concept, tolerance, n_random, seed):
    from relaywidgets.knockout import keep_set, relay_knockout_test

    if fn == "keep_set":
        ok, result = outcome(lambda: keep_set(MODEL, X, Y, concept, tolerance=tolerance, progress=False))
        if ok:
            assert 0 <= int(result.set_size) <= len(MODEL.node_labels)
        return
    relays = RELAYS
    ok, result = outcome(lambda: relay_knockout_test(MODEL, X, Y, relays, concept, n_random=n_random, seed=seed))
    if ok:
        assert 0 < float(result.p_value) <= 1


with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConstantOutputWarning)  # class 1 is never predicted: no relays there
    RELAYS = rw.find_relays(rw.record(MODEL, X, Y), n_perm=0, progress=False)


@pytest.mark.timeout(120)
@FUZZ
@given(
    name=st.sampled_from(["threshold", "alpha", "concept", "time", "estimator", "knocked_out", "X", "y", "model"]),
    value=st.one_of(JUNK, st.floats(-1, 2), st.sampled_from(["0", "all", "plugin", ("l0.h0",), ("l0.h9",)]),
                    st.just(np.zeros((3, 4, 4), np.float32))),
)
def test_explorer_state_keeps_only_values_it_accepts(name, value):
    from relaywidgets.widgets import ExplorerState

    state = ExplorerState(recording=REC, relays=RELAYS, model=MODEL, X=X, y=Y)
    before = getattr(state, name)
    ok, _ = outcome(lambda: setattr(state, name, value))
    after = getattr(state, name)
    if not ok:  # a rejected value leaves the state as it was
        assert after is before or (isinstance(after, np.ndarray) and after is before) or after == before
    assert 0.0 <= float(state.accuracy) <= 1.0


REC = rw.record(MODEL, X, Y)


# What the fuzzing above found, kept as explicit cases.
@pytest.mark.parametrize("val", ["", [], "0.2"])
def test_train_refuses_a_val_fraction_that_is_not_a_number(val):
    with pytest.raises(rw.InputError, match="'val_fraction' parameter of train must be a float in \\[0, 1\\)"):
        rw.train(rw.RecurrentClassifier("gru", 4, 3, 4, device="cpu", seed=0), X, Y, val_fraction=val, progress=False)


def test_explorer_state_type_refusals_are_our_errors_and_keep_the_state():
    from relaywidgets.widgets import ExplorerState
    from relaywidgets.widgets.state import ExplorerStateError

    state = ExplorerState(recording=REC, relays=RELAYS)
    with pytest.raises(ExplorerStateError, match="(?s)'threshold' trait.*keeps its previous 'threshold'"):
        state.threshold = np.zeros((2, 2))
    assert state.threshold == 0.9


# --------------------------------------------------------------------------------------------------
# constructors: RecurrentClassifier, resolve_device, and the estimators' parameters (get_estimator)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=40)
@given(
    args=arguments(
        {"arch": st.sampled_from(["rnn", "lstm", "gru"]), "input_size": st.integers(1, 4), "hidden_size": st.integers(1, 5),
         "num_classes": st.integers(2, 4), "num_layers": st.integers(1, 2), "device": st.just("cpu"),
         "seed": st.none() | st.integers(0, 2**31)},
        {"arch": st.sampled_from(["transformer", "GRU", ""]) | JUNK, "input_size": st.sampled_from([0, -1]) | JUNK,
         "hidden_size": st.sampled_from([0, 10**9]) | JUNK, "num_classes": st.sampled_from([0, 1]) | JUNK,
         "num_layers": st.sampled_from([0, 100_000]) | JUNK, "device": st.sampled_from(["gpu", "cuda:99", ""]) | JUNK,
         "seed": st.just(-1) | JUNK},
    )
)
def test_recurrent_classifier_is_built_as_asked_or_says_why(args):
    ok, model = outcome(lambda: rw.RecurrentClassifier(args["arch"], args["input_size"], args["hidden_size"],
                                                       args["num_classes"], args["num_layers"], device=args["device"],
                                                       seed=args["seed"]))
    if ok:
        assert len(model.node_labels) == args["hidden_size"] * args["num_layers"]
        out = model(torch.zeros(2, 3, args["input_size"]))
        assert tuple(out.shape) == (2, args["num_classes"]) and torch.isfinite(out).all()
        if args["seed"] is not None:  # the seed fixes the initial weights
            again = rw.RecurrentClassifier(args["arch"], args["input_size"], args["hidden_size"], args["num_classes"],
                                           args["num_layers"], device="cpu", seed=args["seed"])
            assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


@pytest.mark.timeout(120)
@FUZZ
@given(
    name=st.sampled_from(["plugin", "miller-madow", "shrinkage", "gcmi", "ksg"]),
    params=st.dictionaries(
        st.sampled_from(["k", "noise", "seed", "n_jobs", "ridge", "bias_correct", "min_samples_per_state", "backend",
                         "bogus"]),
        st.sampled_from([0, 1, 3, -1, 0.5, 1e-10, True, "numpy", "torch", None, float("nan")]) | JUNK,
        max_size=2,
    ),
    device=st.sampled_from([None, "cpu", "auto", "bogus", 3]),
)
def test_estimators_take_their_parameters_or_say_why(name, params, device):
    from relaywidgets.info import get_estimator, mutual_information
    from relaywidgets.models import resolve_device

    ok, dev = outcome(lambda: resolve_device(device))
    if ok:
        assert isinstance(dev, torch.device)
    ok, est = outcome(lambda: get_estimator(name, **params))
    if not ok:
        return
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 60)
    b = a + rng.normal(0, 0.5, 60) if name in ("gcmi", "ksg") else (a ^ (rng.random(60) < 0.2)).astype(int)
    ok, value = outcome(lambda: mutual_information(a, b, estimator=est))
    if ok:
        assert np.isfinite(value)


@pytest.mark.parametrize("args", [("gru", 1, 10**9, 2), ("rnn", 1, 4, 2, 10**12), ("lstm", 10**12, 4, 2)],
                         ids=["hidden", "layers", "inputs"])
def test_a_recurrent_classifier_too_big_for_memory_is_refused_before_allocating(args):
    # was: RuntimeError: Storage size calculation overflowed (or a MemoryError) from torch
    with pytest.raises(rw.InputError, match="RecurrentClassifier.*would need about"):
        rw.RecurrentClassifier(*args, device="cpu")


@pytest.mark.timeout(120)
@FUZZ
@given(thing=st.sampled_from(["classifier", "wrapped", "torch GRU", "torch Linear", "class", "array"]) | JUNK)
def test_model_protocol_helpers_describe_a_model_or_say_why(thing):
    from relaywidgets.models import check_model, is_recurrent_model, layout_of

    obj = {"classifier": MODEL, "wrapped": WRAPPED, "torch GRU": nn.GRU(2, 3), "torch Linear": nn.Linear(2, 2),
           "class": rw.RecurrentClassifier, "array": np.zeros(3)}.get(thing, thing) if isinstance(thing, str) else thing
    recurrent = is_recurrent_model(obj)
    assert isinstance(recurrent, bool)
    ok, checked = outcome(lambda: check_model(obj, "fuzz"))
    assert ok == recurrent  # the analyses take exactly the recurrent models
    ok, layout = outcome(lambda: layout_of(obj))
    if recurrent:
        assert ok and sum(spec.hidden_size for spec in layout) == len(obj.node_labels)


WRAPPED = rw.stepwise(nn.Sequential(nn.GRU(2, 3, batch_first=True)), decision=lambda out: out[0][:, -1, :2],
                      num_classes=2)


@pytest.mark.timeout(120)
@FUZZ
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(0, 30),
    n_classes=st.integers(1, 4),
    junk=st.sampled_from([None, None, None, "negative", "too big", "float", "2-D", "lengths differ", "n_classes"]),
)
def test_confusion_matrix_counts_each_pair_once_or_says_why(seed, n, n_classes, junk):
    from relaywidgets.metrics import class_accuracy, confusion_matrix

    rng = np.random.default_rng(seed)
    y, pred = rng.integers(0, n_classes, n), rng.integers(0, n_classes, n)
    k = n_classes
    if junk == "negative" and n:
        pred[0] = -1
    elif junk == "too big" and n:
        y[0] = n_classes
    elif junk == "float":
        pred = pred + 0.5
    elif junk == "2-D":
        y = y[:, None]
    elif junk == "lengths differ":
        pred = pred[: n // 2] if n else np.zeros(1, int)
    elif junk == "n_classes":
        k = [0, -1, 1.5, None][seed % 4]
    ok, conf = outcome(lambda: confusion_matrix(y, pred, k))
    if ok:  # against a plain count of the pairs
        want = np.zeros((n_classes, n_classes), np.int64)
        for t, p in zip(y.tolist(), pred.tolist()):
            want[t, p] += 1
        np.testing.assert_array_equal(conf, want)
        per = class_accuracy(y, pred, n_classes)
        assert np.all(np.isnan(per) | ((per >= 0) & (per <= 1)))


@pytest.mark.parametrize("y_pred, n_classes", [([1, -1], 2), ([0, 5], 2), ([0.5, 1.0], 2), ([0, 1], 0)])
def test_confusion_matrix_refuses_labels_outside_the_classes(y_pred, n_classes):
    # were: -1 counted in another cell without an error, 0.5 truncated to 0, and raw reshape errors
    from relaywidgets.metrics import confusion_matrix

    with pytest.raises(rw.InputError, match="confusion_matrix"):
        confusion_matrix(np.array([0, 1]), np.array(y_pred), n_classes)


@pytest.mark.parametrize("thing", [None, 3, nn.Linear(2, 2), np.zeros(3)], ids=["None", "int", "Linear", "array"])
def test_layout_of_refuses_what_is_not_a_recurrent_model(thing):
    # was: AttributeError: ... has no attribute 'num_layers'
    from relaywidgets.models import layout_of

    with pytest.raises(rw.InputError, match="layout_of needs a relaywidgets RecurrentClassifier"):
        layout_of(thing)


KNOCKOUT_SPECS = st.one_of(
    st.none(),
    st.builds(lambda nodes, times: rw.Knockout(nodes, times=times), st.lists(st.integers(0, 2), min_size=1, max_size=3,
                                                                             unique=True),
              st.none() | st.lists(st.integers(0, 3), min_size=1, max_size=2, unique=True)),
    st.sampled_from([rw.Knockout([9]), rw.Knockout([0], layer=3), "x", 3, [3]]),
)


@pytest.mark.timeout(120)
@FUZZ
@given(
    sets=st.lists(KNOCKOUT_SPECS | st.lists(KNOCKOUT_SPECS, max_size=2), max_size=3) | JUNK,
    repeats=mostly(st.integers(1, 3)),
)
def test_knockout_plans_mask_what_the_knockouts_name_or_say_why(sets, repeats):
    from relaywidgets.knockout import compile_knockouts, stack_knockouts

    shape = {"seq_len": 4, "hidden_size": 3, "num_layers": 1, "arch": "gru"}
    ok, plan = outcome(lambda: stack_knockouts(sets, repeats, **shape))
    if not ok or plan is None:
        return
    masks = plan.masks[0]
    assert tuple(masks.shape) == (4, len(sets) * repeats, 3)
    for j, ks in enumerate(sets):  # each block of rows is the mask of its own knockout set, compiled alone
        alone = compile_knockouts(ks if ks is not None else [], **shape)
        want = torch.zeros(4, 3, dtype=torch.bool) if alone is None else alone.masks[0][:, 0]
        for r in range(repeats):
            assert torch.equal(masks[:, j * repeats + r], want)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=15)
@given(
    args=arguments(
        {"concept": st.sampled_from([0, 1, 3, "all"]), "time": st.integers(-4, 3),
         "names": st.none() | st.sampled_from([["readout"], ["grad_x_act"], ["readout", "grad_x_act"]]),
         "metric": st.sampled_from(["accuracy", "margin"]), "n_steps": st.integers(1, 4),
         "batch_size": st.none() | st.integers(1, 30)},
        {"concept": st.sampled_from([9, -1, [1]]) | JUNK, "time": st.sampled_from([99, 1.5]) | JUNK,
         "names": st.sampled_from([["bogus"], []]) | JUNK, "metric": st.just("bogus") | JUNK,
         "n_steps": st.just(0) | JUNK, "batch_size": st.just(0) | JUNK},
    )
)
def test_rankings_score_every_node_or_say_why(args):
    from relaywidgets.knockout import rankings

    ok, out = outcome(lambda: rankings(MODEL, X, Y, args.pop("concept"), **args))
    if ok:
        assert isinstance(out, xr.Dataset) and out.sizes["node"] == len(MODEL.node_labels)


@pytest.mark.timeout(60)
@FUZZ
@given(thing=st.sampled_from(["recording", "no label", "a DataArray"]) | JUNK)
def test_recording_accuracy_is_the_share_of_right_predictions_or_says_why(thing):
    from relaywidgets.metrics import recording_accuracy

    rec = {"recording": REC, "no label": REC.drop_vars("label"), "a DataArray": REC["hidden"]}.get(thing, thing) \
        if isinstance(thing, str) else thing
    ok, out = outcome(lambda: recording_accuracy(rec))
    if ok:
        assert out["accuracy"] == pytest.approx(float((REC.label == REC.prediction).mean()))


def test_stack_knockouts_and_recording_accuracy_refuse_what_they_cannot_read():
    # were: TypeError: object of type 'int' has no len(); TypeError: 'int' object is not subscriptable
    from relaywidgets.knockout import stack_knockouts
    from relaywidgets.metrics import recording_accuracy

    with pytest.raises(rw.KnockoutError, match="'knockout_sets' parameter of stack_knockouts"):
        stack_knockouts(3, 2, seq_len=4, hidden_size=3, num_layers=1, arch="gru")
    with pytest.raises(rw.RecordingError, match="recording_accuracy needs a recording"):
        recording_accuracy(REC.drop_vars("label"))


def test_rankings_refuse_an_impossible_number_of_steps():
    # was a raw MemoryError (and 10**9 allocated gigabytes for a minute first): now a memory estimate before Captum
    from relaywidgets.knockout import rankings

    for n_steps in (10**12, 10**10):
        with pytest.raises(rw.InputError, match="integrated gradients with n_steps=.*Pass n_steps between"):
            rankings(MODEL, X, Y, 1, n_steps=n_steps)


FLOATS_JUNK = st.sampled_from([-0.1, 1.5, float("nan")]) | JUNK


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=20)
@given(
    args=arguments(
        {"X": st.just(X), "y": st.just(Y), "lengths": st.none(), "threshold": st.floats(0.5, 1.0),
         "estimator": st.sampled_from(["plugin", "miller-madow"])},
        {"X": st.sampled_from([X[:, :, :2], X[:5], np.full_like(X, np.nan)]) | JUNK,
         "y": st.sampled_from([Y[:5], Y + 10]) | JUNK, "lengths": st.sampled_from([np.zeros(24, int), np.full(24, 9)])
         | JUNK, "threshold": FLOATS_JUNK, "estimator": st.just("bogus") | JUNK},
    )
)
def test_explore_opens_on_the_models_numbers_or_says_why(args):
    ok, explorer = outcome(lambda: rw.explore(MODEL, args["X"], args["y"], args["lengths"], progress=False, n_perm=0,
                                              threshold=args["threshold"], estimator=args["estimator"]))
    if ok:
        state = explorer.state
        assert float(state.accuracy) == pytest.approx(float(evaluate(MODEL, X, Y).accuracy))
