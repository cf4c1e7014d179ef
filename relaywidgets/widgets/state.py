"""The explorer's one state object: what is shown, what is selected, what is knocked out, and the actions.

Every view of the explorer observes an :class:`ExplorerState` and changes it; views never call each
other. The state is a plain :class:`traitlets.HasTraits` (not a widget), so nothing in it is sent to
the browser: the recording, the relay map and the model stay in the kernel, and each view syncs only
the small values it draws.

Longer than 500 lines because the explorer has one state object (views never talk to each other), and
traitlets needs every validator and observer of a trait on the class that declares it; the causal view's
traits (effect map, causal set, deletion curves) live here for the same reason.
"""

from __future__ import annotations

import contextlib
import threading
import time as _time
from typing import Any, Iterator, Sequence

import numpy as np
import xarray as xr
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Float, HasTraits, Instance, Int, TraitError, Tuple, Unicode, observe, validate

from .._validation import is_int, is_real
from ..contract import check_relays, concept_title
from ..errors import InputError

__all__ = ["ExplorerState", "ExplorerStateError", "concept_title"]

_RELAY_VARS = ("contribution", "relay_size")  # read by the views, beyond is_relay
#: The drops an effect map holds (relaywidgets.knockout.effect_map), and the knockout values the causal view offers.
EFFECT_VARIABLES = ("accuracy_drop", "margin_drop")
EFFECT_VALUES = ("zero", "mean")
#: The deletion curve's baselines next to the relay ranking (relaywidgets.knockout.RANKINGS).
BASELINE_RANKINGS = ("readout", "grad_x_act")


class _IdentityMixin:
    """Notify on every new object: traitlets compares with ``==``, which for an xarray Dataset or a numpy
    array is elementwise (a Dataset even compares "equal" to None), so changes would go unnoticed."""

    def set(self, obj: HasTraits, value: Any) -> None:
        new_value = self._validate(obj, value)  # type: ignore[attr-defined]
        name = self.name  # type: ignore[attr-defined]
        old_value = obj._trait_values.get(name, self.default_value)  # type: ignore[attr-defined]
        obj._trait_values[name] = new_value
        if old_value is not new_value:
            obj._notify_trait(name, old_value, new_value)


class _DatasetTrait(_IdentityMixin, Instance):
    """An xarray Dataset (or None), compared by identity."""


class _ObjectTrait(_IdentityMixin, AnyTrait):
    """Any object, compared by identity."""


class ExplorerStateError(InputError, TraitError):
    """A value given to :class:`ExplorerState` is not usable; the message says why and what to pass."""


def _registry_names(kind: str) -> dict[str, Any] | None:
    """The estimator or discretizer registry of relaywidgets.info, or None when it cannot be loaded."""
    try:
        from .. import info
    except ImportError:  # pragma: no cover - the numerical core is part of the package
        return None
    getter = getattr(info, "estimators" if kind == "estimator" else "discretizers", None)
    if getter is None:  # pragma: no cover
        return None
    return dict(getter())


def _recording_inputs(rec: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Inputs, labels and lengths stored in a recording, as ``record`` was given them."""
    X = rec["input"].transpose("sample", "time", "feature").values.astype(np.float32)
    X = np.nan_to_num(X, nan=0.0)  # steps past a sequence's length are NaN in the recording
    if rec.attrs.get("input_kind") == "tokens":  # a wrapped model's token ids, stored as one float feature
        X = X[..., 0].astype(np.int64)
    y = rec["label"].values.astype(np.int64)
    lengths = rec["length"].values.astype(np.int64)
    if np.all(lengths == rec.sizes["time"]):
        lengths = None
    return X, y, lengths


def model_fit_problems(model: Any, rec: xr.Dataset) -> list[str]:
    """Why ``model`` is not the network ``rec`` was recorded from (empty when it fits).

    Compares what the recording states about its network (architecture, layers, units per layer, input
    features, classes; node labels, which name module, layer and unit) with the model. A recording of a
    subset of the units fits as long as the model has every recorded node.

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task, record
    >>> X, y = make_task("delayed-cue", n_samples=8, seq_len=5, seed=0)
    >>> rec = record(RecurrentClassifier("gru", 4, 3, 4, device="cpu"), X, y)
    >>> model_fit_problems(RecurrentClassifier("gru", 4, 3, 4, device="cpu"), rec)
    []
    >>> model_fit_problems(RecurrentClassifier("lstm", 4, 5, 4, device="cpu"), rec)
    ["architecture 'gru' in the recording, 'lstm' in the model", 'units per layer [3] in the recording, [5] in the model']
    """
    from ..models.protocol import is_recurrent_model, layer_sizes

    if not is_recurrent_model(model):
        return []  # the knockout session says what a model must be
    problems = []
    attrs = rec.attrs
    arch = getattr(model, "arch", None)
    if "arch" in attrs and arch is not None and str(attrs["arch"]) != str(arch):
        problems.append(f"architecture {str(attrs['arch'])!r} in the recording, {str(arch)!r} in the model")
    sizes = layer_sizes(model)
    if "num_layers" in attrs and int(attrs["num_layers"]) != len(sizes):
        problems.append(f"{int(attrs['num_layers'])} layer(s) in the recording, {len(sizes)} in the model")
    elif "hidden_size" in attrs:
        recorded = np.atleast_1d(np.asarray(attrs["hidden_size"])).astype(int).tolist()
        if len(recorded) == 1:
            recorded = recorded * len(sizes)
        if recorded != list(sizes):
            problems.append(f"units per layer {recorded[:1] if len(set(recorded)) == 1 else recorded} in the "
                            f"recording, {sizes[:1] if len(set(sizes)) == 1 else sizes} in the model")
    if rec.sizes["class"] != model.num_classes:
        problems.append(f"{rec.sizes['class']} classes in the recording, {model.num_classes} in the model")
    input_size = getattr(model, "input_size", None)
    if attrs.get("input_kind") != "tokens" and is_int(input_size) and rec.sizes["feature"] != input_size:
        problems.append(f"{rec.sizes['feature']} input feature(s) in the recording, {input_size} in the model")
    known = set(model.node_labels)
    foreign = [str(n) for n in rec["node"].values if str(n) not in known]
    if foreign and not problems:
        problems.append(f"node(s) {foreign[:3]} of the recording are not units of the model "
                        f"(its units are {list(model.node_labels)[:2]} ...)")
    return problems


class _Evaluator:
    """Accuracy of the model under a set of knocked-out node labels.

    A thin adapter over :class:`relaywidgets.knockout.KnockoutSession`, which caches the intact run
    and publishes the last requested state.
    """

    def __init__(self, model: Any, X: Any, y: Any, lengths: Any) -> None:
        from ..knockout import KnockoutSession

        self.session = KnockoutSession(model, X, y, lengths=lengths)

    def baseline(self) -> tuple[float, np.ndarray]:
        return float(self.session.baseline_accuracy), np.asarray(self.session.baseline_per_class, dtype=float)

    def evaluate(self, labels: Sequence[str]) -> tuple[float, np.ndarray]:
        result = self.session.set(list(labels))
        return float(result.accuracy), np.asarray(result.per_class, dtype=float)


def knockouts_for(labels: Sequence[str], **kwargs: Any) -> list:
    """One :class:`~relaywidgets.Knockout` per layer for node labels such as ``"l1.h3"`` or ``"lstm:l0.h3"``
    (empty list for none)."""
    from ..knockout.spec import Knockout, parse_node_label

    by_layer: dict[tuple[str, int], list[str]] = {}
    for label in labels:
        module, layer, _ = parse_node_label(label, with_module=True)
        by_layer.setdefault((module or "", layer), []).append(label)
    return [Knockout(nodes, **kwargs) for _, nodes in sorted(by_layer.items())]


class ExplorerState(HasTraits):
    """Everything the relay explorer shows and every action its views can take.

    Parameters
    ----------
    recording : xarray.Dataset, optional
        A recording (``relaywidgets.record``); its node labels, classes and time steps frame the views.
    relays : xarray.Dataset, optional
        The relay map of ``recording`` (``relaywidgets.find_relays``). Its estimator, discretizer,
        threshold and alpha become the state's settings.
    model : RecurrentClassifier or StepwiseModel, optional
        Needed for knockouts (your own model wrapped with :func:`relaywidgets.stepwise` works too);
        without it the knockout actions raise and the panel says why.
    X, y, lengths : array-like, optional
        The data knockouts are evaluated on; default: the inputs and labels stored in ``recording``.
    find_relays_kwargs : dict, optional
        Further arguments of ``find_relays`` used by :meth:`recompute` (``n_perm``, ``seed``,
        ``concepts``, ``times``, ``nodes``, ``device``, ...).
    **traits
        Initial values of other traits (``concept``, ``time``, ``threshold``, ...).

    Notes
    -----
    ``relays`` always holds the relay map *as shown*: the result of the last :meth:`recompute` for the
    current estimator and discretizer, re-derived for the current ``threshold`` (``relays_at``) and
    ``alpha`` (``significant = p_value < alpha``). Raw results are cached per (estimator,
    discretizer), so going back to an earlier setting is instant. Assigning a new relay map to
    ``relays`` adopts it as the raw result for its settings.

    Examples
    --------
    >>> from relaywidgets.widgets import ExplorerState
    >>> state = ExplorerState()
    >>> state.threshold = 0.8
    >>> state.threshold
    0.8
    """

    recording = _DatasetTrait(xr.Dataset, allow_none=True, help="The recording the explorer shows (kernel-side only).")
    relays = _DatasetTrait(
        xr.Dataset,
        allow_none=True,
        help="The relay map as shown: re-derived for the current threshold and alpha (kernel-side only).",
    )
    model = _ObjectTrait(
        None, allow_none=True, help="The RecurrentClassifier knockouts run on (None disables knockouts)."
    )
    X = _ObjectTrait(None, allow_none=True, help="Input sequences (sample, time, feature) knockouts are evaluated on.")
    y = _ObjectTrait(None, allow_none=True, help="True labels (sample,) knockouts are scored against.")
    lengths = _ObjectTrait(None, allow_none=True, help="Valid steps per sequence, or None for full length.")
    find_relays_kwargs = Dict(help="Further keyword arguments of find_relays used by recompute().")
    progress = Bool(False, help="Show find_relays' progress bar (tqdm.auto) while recomputing.")

    concept = Unicode("", help="Selected concept: a class name of the relay map, or 'all'.")
    time = Int(0, help="Selected time step (a value of the relay map's time coordinate).")
    estimator = Unicode("plugin", help="Information estimator, a name from relaywidgets.info.estimators().")
    discretizer = Unicode(
        "two-means", help="Coarse-graining of activations, a name from relaywidgets.info.discretizers()."
    )
    threshold = Float(0.9, help="Fraction of the total relay information the relay set must keep, in [0, 1].")
    alpha = Float(0.05, help="Significance level of the permutation test, in (0, 1).")
    knocked_out = Tuple(help="Labels of the knocked-out nodes (e.g. ('l0.h3', 'l0.h7')), in node order.")
    baseline_accuracy = Float(
        None, allow_none=True, help="Overall accuracy of the intact network (None without a model)."
    )
    accuracy = Float(None, allow_none=True, help="Overall accuracy with the current knockouts (None without a model).")
    per_class_accuracy = Tuple(help="Per-class accuracy with the current knockouts, one float per class.")
    baseline_per_class_accuracy = Tuple(help="Per-class accuracy of the intact network, one float per class.")
    busy = Bool(False, help="True while relays or knockouts are being computed.")
    error = Unicode("", help="The last error of an action, shown in the explorer's error area ('' when none).")
    status = Unicode("", help="One line about the relay map shown (settings, cached or computed, time taken).")
    stale = Bool(
        False, help="True when the estimator or discretizer differ from the relay map shown: press Recompute."
    )
    random_seed = Int(0, help="Seed of the next random control knockout (incremented by each one).")

    # The causal view: knockout interventions next to the relay map. Nothing is computed until
    # compute_causal() (the "Compute causal map" button); results are cached per setting.
    effects = _DatasetTrait(
        xr.Dataset, allow_none=True,
        help="The effect map (relaywidgets.knockout.effect_map) for effect_value and effect_window, or None "
             "until computed (kernel-side only).",
    )
    causal = _DatasetTrait(
        xr.Dataset, allow_none=True,
        help="The causal set (relaywidgets.knockout.causal_set) of the selected concept, or None until computed "
             "(kernel-side only).",
    )
    deletion = _DatasetTrait(
        xr.Dataset, allow_none=True,
        help="Deletion curves (relaywidgets.knockout.deletion_curve) of the selected concept: the relay ranking "
             "at the selected step, readout weight and gradient x activation, against random k-sets; None until "
             "computed (kernel-side only).",
    )
    effect_variable = Unicode("accuracy_drop", help="The drop the effect map shows: 'accuracy_drop' or 'margin_drop'.")
    effect_value = Unicode(
        "zero", help="What the causal view's knockouts set a unit to: 'zero', or 'mean' (over the recording)."
    )
    effect_window = Int(1, help="Steps per knockout window of the effect map (>= 1).")
    causal_target = Float(
        0.5, help="Share of the concept's intact accuracy the causal set's knockout must remove, in (0, 1]."
    )
    relay_ranking = Unicode(
        "contribution", help="The relay score the deletion curve ranks units by (at the selected step)."
    )
    n_random = Int(100, help="Random k-sets behind the deletion curve's band and p-values (>= 1).")
    causal_status = Unicode("", help="One line about the causal view (computed, cached, or what is missing).")
    causal_stale = Bool(
        False, help="True when the causal view lacks results for the current selection: press Compute causal map."
    )

    def __setattr__(self, name: str, value: Any) -> None:
        # traitlets checks a trait's type before the validators below run, and says so with a bare TraitError;
        # make every refusal the package's own error, so that callers can catch RelaywidgetsError.
        try:
            super().__setattr__(name, value)
        except ExplorerStateError:
            raise
        except TraitError as err:
            raise ExplorerStateError(f"{err} The state keeps its previous {name!r}.") from None

    def __init__(
        self,
        recording: xr.Dataset | None = None,
        relays: xr.Dataset | None = None,
        model: Any = None,
        X: Any = None,
        y: Any = None,
        lengths: Any = None,
        *,
        find_relays_kwargs: dict | None = None,
        **traits: Any,
    ) -> None:
        self._cache: dict[tuple[str, str], xr.Dataset] = {}
        self._raw: xr.Dataset | None = None
        self._derived: xr.Dataset | None = None
        self._evaluator: _Evaluator | None = None
        self._adopting = False
        self._had_map = False
        self._eval_lock = threading.RLock()
        self._busy_lock = threading.Lock()
        self._busy_count = 0
        self._setting_model = False
        self._pending: tuple[tuple[int, ...], Any] | None = None
        self._inputs_from_recording = False
        self._causal_cache: dict[tuple, xr.Dataset] = {}
        self._causal_asked = False  # whether compute_causal ran: only then is a missing result "stale"
        # Settings and selections given here win over those a relay map carries, and a knockout needs
        # the model, so these are set last.
        later = {k: traits.pop(k) for k in ("estimator", "discretizer", "threshold", "alpha", "concept", "time",
                                            "knocked_out") if k in traits}
        super().__init__(find_relays_kwargs=dict(find_relays_kwargs or {}), **traits)
        self.recording = recording
        if relays is not None:
            self.relays = relays
        self.use_model(model, X, y, lengths)
        for name, value in later.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ derived facts
    @property
    def has_model(self) -> bool:
        """Whether knockouts can run (a model and data are present)."""
        return self.model is not None and self.X is not None and self.y is not None

    @property
    def node_labels(self) -> list[str]:
        """Node labels of the recording (or of the relay map when there is no recording)."""
        source = self.recording if self.recording is not None else self.relays
        return [] if source is None else [str(v) for v in source["node"].values]

    @property
    def concepts(self) -> list[str]:
        """Concepts of the relay map (empty without one)."""
        return [] if self.relays is None else [str(v) for v in self.relays["concept"].values]

    @property
    def times(self) -> list[int]:
        """Time steps of the relay map, else of the recording."""
        source = self.relays if self.relays is not None else self.recording
        return [] if source is None else [int(v) for v in source["time"].values]

    @property
    def class_names(self) -> list[str]:
        """Class names of the recording (``"0"``, ``"1"``, ... by default)."""
        if self.recording is None:
            return []
        if "class_name" in self.recording.coords:
            return [str(v) for v in self.recording["class_name"].values]
        return [str(v) for v in self.recording["class"].values]

    def relay_nodes(self, concept: str | None = None, time: int | None = None) -> list[str]:
        """Labels of the relay set of ``concept`` at ``time`` (default: the selection), in node order."""
        if self.relays is None:
            return []
        concept = self.concept if concept is None else str(concept)
        time = self.time if time is None else int(time)
        if concept not in self.concepts or time not in self.times:
            return []
        sel = self.relays["is_relay"].sel(concept=concept, time=time)
        return [str(n) for n in sel["node"].values[np.asarray(sel.values, dtype=bool)]]

    def is_significant(self, concept: str | None = None, time: int | None = None) -> bool | None:
        """Whether the relay information of ``concept`` at ``time`` is significant (None when untested)."""
        if self.relays is None or "p_value" not in self.relays:
            return None
        concept = self.concept if concept is None else str(concept)
        time = self.time if time is None else int(time)
        if concept not in self.concepts or time not in self.times:
            return None
        p = float(self.relays["p_value"].sel(concept=concept, time=time))
        return None if np.isnan(p) else bool(p < self.alpha)

    # ------------------------------------------------------------------ validation
    def _fail(self, name: str, must: str, value: Any) -> ExplorerStateError:
        return ExplorerStateError(f"The {name!r} parameter of ExplorerState must be {must}. Got {value!r} instead.")

    @validate("recording")
    def _check_recording(self, proposal: Any) -> Any:
        rec = proposal["value"]
        if rec is not None:
            from ..contract import check_recording

            check_recording(rec)
            if self.model is not None:
                self._check_fit(self.model, rec)
        return rec

    def _check_fit(self, model: Any, rec: xr.Dataset) -> None:
        problems = model_fit_problems(model, rec)
        if problems:
            raise ExplorerStateError(
                "The model does not fit the recording: " + "; ".join(problems) + ". Pass the model the recording "
                "was made with, or record this one: Explorer(relaywidgets.record(model, X, y), model=model) "
                "(relaywidgets.explore(model, X, y) does both)."
            )

    @validate("model", "X", "y", "lengths")
    def _check_model_data(self, proposal: Any) -> Any:
        # Cross-field checks happen here, before the value is stored: a rejected value never stays in the state.
        value = proposal["value"]
        if self._setting_model:  # use_model checked the whole set before assigning it
            return value
        combo = {"model": self.model, "X": self.X, "y": self.y, "lengths": self.lengths, proposal["trait"].name: value}
        evaluator = self._prepare_evaluator(**combo)
        self._pending = ((id(combo["model"]), id(combo["X"]), id(combo["y"]), id(combo["lengths"])), evaluator)
        return value

    def _prepare_evaluator(self, model: Any, X: Any, y: Any, lengths: Any) -> "_Evaluator | None":
        """Check a model and its evaluation data against each other and the recording; build their evaluator."""
        if model is None or X is None or y is None:
            return None
        rec = self.recording
        if rec is not None:
            self._check_fit(model, rec)
        try:
            evaluator = _Evaluator(model, X, y, lengths)
        except ExplorerStateError:
            raise
        except (InputError, ValueError, TypeError) as exc:  # bad data for this model: say so, keep the state
            raise ExplorerStateError(f"The model and its data do not fit together: {exc}") from None
        if rec is not None and not rec.attrs.get("knockout") and self._inputs_are_recorded(rec, X, lengths):
            # Same architecture is not the same network: the recorded decisions must be the model's own.
            predicted = np.asarray(model.predict(X, lengths))
            differ = int((predicted != rec["prediction"].values).sum())
            if differ > max(1, 0.01 * predicted.size):
                raise ExplorerStateError(
                    f"The model is not the network the recording was made with: on the recording's inputs its "
                    f"predictions differ from the recorded ones in {differ} of {predicted.size} samples. Pass the "
                    "model the recording was made with, or record this one (relaywidgets.record(model, X, y))."
                )
        return evaluator

    @staticmethod
    def _inputs_are_recorded(rec: xr.Dataset, X: Any, lengths: Any) -> bool:
        """Whether ``X`` (and ``lengths``) are the inputs stored in ``rec`` (so its predictions can be compared)."""
        X_rec, _, len_rec = _recording_inputs(rec)
        X_arr = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X)
        if X_arr.shape != X_rec.shape or (lengths is None) != (len_rec is None):
            return False
        if lengths is not None and not np.array_equal(np.asarray(lengths), len_rec):
            return False
        if lengths is not None:  # steps past a length are NaN in the recording, 0 in X_rec: compare valid steps
            valid = np.arange(X_rec.shape[1])[None, :] < len_rec[:, None]
            return bool(np.array_equal(X_arr[valid].astype(X_rec.dtype), X_rec[valid]))
        return bool(np.array_equal(X_arr.astype(X_rec.dtype), X_rec))

    @validate("relays")
    def _check_relays(self, proposal: Any) -> Any:
        relays = proposal["value"]
        if relays is None:
            return relays
        check_relays(relays, "ExplorerState", require=_RELAY_VARS, error=ExplorerStateError)
        if self.recording is not None:
            known = set(self.node_labels)
            foreign = [str(n) for n in relays["node"].values if str(n) not in known]
            if foreign:
                raise ExplorerStateError(
                    f"The relay map has node(s) {foreign[:3]} that the recording lacks; compute it with "
                    "find_relays on the same recording."
                )
        return relays

    @validate("threshold")
    def _check_threshold(self, proposal: Any) -> float:
        value = proposal["value"]
        if not (0.0 <= value <= 1.0):
            raise self._fail("threshold", "a float in [0, 1] (a fraction of the relay information)", value)
        return value

    @validate("alpha")
    def _check_alpha(self, proposal: Any) -> float:
        value = proposal["value"]
        if not (0.0 < value < 1.0):
            raise self._fail("alpha", "a float in (0, 1)", value)
        return value

    @validate("concept")
    def _check_concept(self, proposal: Any) -> str:
        value = proposal["value"]
        if self.relays is not None and value not in self.concepts:
            raise self._fail("concept", f"one of the relay map's concepts {self.concepts}", value)
        return value

    @validate("time")
    def _check_time(self, proposal: Any) -> int:
        value = proposal["value"]
        times = self.times
        if times and value not in times:
            raise self._fail("time", f"a time step of the relay map ({times[0]} .. {times[-1]})", value)
        return value

    @validate("estimator")
    def _check_estimator(self, proposal: Any) -> str:
        value = proposal["value"]
        names = _registry_names("estimator")
        if names is not None and value not in names:
            raise self._fail("estimator", f"one of {list(names)} (relaywidgets.info.estimators())", value)
        return value

    @validate("discretizer")
    def _check_discretizer(self, proposal: Any) -> str:
        value = proposal["value"]
        names = _registry_names("discretizer")
        if names is not None and value not in names:
            raise self._fail("discretizer", f"one of {list(names)} (relaywidgets.info.discretizers())", value)
        return value

    @validate("effect_variable")
    def _check_effect_variable(self, proposal: Any) -> str:
        value = proposal["value"]
        if value not in EFFECT_VARIABLES:
            raise self._fail("effect_variable", f"one of {list(EFFECT_VARIABLES)}", value)
        return value

    @validate("effect_value")
    def _check_effect_value(self, proposal: Any) -> str:
        value = proposal["value"]
        if value not in EFFECT_VALUES:
            raise self._fail("effect_value", f"one of {list(EFFECT_VALUES)} (what a knocked-out unit is set to)", value)
        return value

    @validate("effect_window")
    def _check_effect_window(self, proposal: Any) -> int:
        value = proposal["value"]
        if value < 1:
            raise self._fail("effect_window", "an int in [1, inf) (steps per knockout window)", value)
        return value

    @validate("causal_target")
    def _check_causal_target(self, proposal: Any) -> float:
        value = proposal["value"]
        if not (0.0 < value <= 1.0):
            raise self._fail("causal_target", "a float in (0, 1] (a share of the intact accuracy)", value)
        return value

    @validate("relay_ranking")
    def _check_relay_ranking(self, proposal: Any) -> str:
        from ..knockout.faithfulness import RELAY_RANKINGS

        value = proposal["value"]
        if value not in RELAY_RANKINGS:
            raise self._fail("relay_ranking", f"one of {list(RELAY_RANKINGS)} (a per-node relay score)", value)
        return value

    @validate("random_seed")
    def _check_random_seed(self, proposal: Any) -> int:
        value = proposal["value"]
        if value < 0:
            raise self._fail("random_seed", "an int in [0, inf) (the seed of the next random control)", value)
        return value

    @validate("n_random")
    def _check_n_random(self, proposal: Any) -> int:
        value = proposal["value"]
        if value < 1:
            raise self._fail("n_random", "an int in [1, inf) (random k-sets)", value)
        return value

    @validate("knocked_out")
    def _check_knocked_out(self, proposal: Any) -> tuple:
        value = proposal["value"]
        if any(not isinstance(v, (str, np.str_)) for v in value):
            raise self._fail("knocked_out", "a tuple of node labels such as ('l0.h3',)", value)
        labels = self.node_labels
        unknown = [v for v in value if v not in set(labels)]
        if unknown:
            raise ExplorerStateError(
                f"Cannot knock out {unknown}: not node(s) of the recording. Use labels from its 'node' "
                f"coordinate, e.g. {labels[:3]}."
            )
        if value and not self.has_model:
            raise ExplorerStateError(
                "Knockouts need the model: create the explorer with model=... (and X, y, or it reuses the "
                "recording's inputs), e.g. relaywidgets.explore(model, X, y)."
            )
        chosen = set(value)
        return tuple(lab for lab in labels if lab in chosen)  # canonical: node order, no duplicates

    # ------------------------------------------------------------------ propagation
    @observe("relays")
    def _relays_changed(self, change: Any) -> None:
        new = change["new"]
        if new is not None and new is not self._derived:
            # A relay map from outside: it becomes the raw result for its own settings.
            self._cache[self._key_of(new)] = new
            self._adopting = True
            try:
                self._adopt_settings(new)
            finally:
                self._adopting = False
            n_perm = new.attrs.get("n_perm")
            self._show(new, "given" if n_perm is None else f"given ({n_perm} permutations)")
            return
        if new is None:
            self._raw = None
            return
        concepts, times = self.concepts, self.times
        first_map = not self._had_map
        self._had_map = True
        with self.hold_trait_notifications():
            if self.concept not in concepts:
                self.concept = concepts[0] if concepts else ""
            # The first map opens at its last step, where the decision is made; later maps keep the step.
            if times and (first_map or self.time not in times):
                self.time = times[-1]

    @observe("recording")
    def _recording_changed(self, change: Any) -> None:
        if change["old"] is not None:
            # Relay maps, causal results and readouts of the old recording say nothing about the new one.
            self._cache.clear()
            self._raw = self._derived = None
            self.relays = None
            self.stale = False
            self.status = "" if change["new"] is None else "new recording: press Recompute."
            if self._inputs_from_recording and self.model is not None:
                self.use_model(self.model)  # re-reads inputs and labels from the new recording
            else:
                self._clear_causal()
        times = self.times
        if times and self.time not in times:
            self.time = times[-1]

    @observe("threshold", "alpha")
    def _rederive(self, change: Any) -> None:
        if not self._adopting:
            self._derive()

    @observe("estimator", "discretizer")
    def _settings_changed(self, change: Any) -> None:
        if self._adopting:
            return
        cached = self._cache.get(self._key())
        if cached is not None:
            self._show(cached, "cached")
        else:
            self.stale = self._raw is not None or self.recording is not None
            if self.stale:
                self.status = f"{self._describe_key(self._key())}: not computed yet, press Recompute."

    def use_model(self, model: Any, X: Any = None, y: Any = None, lengths: Any = None) -> None:
        """Set the model and the data knockouts are scored on, together (one re-evaluation).

        Parameters
        ----------
        model : RecurrentClassifier or None
            None disables knockouts.
        X, y, lengths : array-like, optional
            Evaluation data; when both X and y are omitted, the inputs and labels stored in the
            recording are used.
        """
        from_recording = False
        if model is not None:
            if X is None and y is None and self.recording is not None:
                X, y, lengths = _recording_inputs(self.recording)
                from_recording = True
            elif X is None or y is None:
                raise ExplorerStateError(
                    "Knockouts need both X and y (or neither, to reuse the inputs stored in the recording); "
                    "pass X=..., y=... together."
                )
        # Everything is checked before anything is assigned: a refused model leaves the state as it was.
        evaluator = self._prepare_evaluator(model, X, y, lengths)
        self._setting_model = True
        try:
            self.X, self.y, self.lengths, self.model = X, y, lengths, model
        finally:
            self._setting_model = False
        self._inputs_from_recording = from_recording
        self._rebuild_evaluator(evaluator)

    @observe("model", "X", "y", "lengths")
    def _model_changed(self, change: Any) -> None:
        if not self._setting_model:
            if change["name"] in ("X", "y", "lengths"):
                self._inputs_from_recording = False
            current = (id(self.model), id(self.X), id(self.y), id(self.lengths))
            pending, self._pending = self._pending, None
            self._rebuild_evaluator(pending[1] if pending is not None and pending[0] == current else None)

    def _rebuild_evaluator(self, evaluator: "_Evaluator | None" = None) -> None:
        self._evaluator = None
        self._clear_causal()
        if not self.has_model:
            with self.hold_trait_notifications():
                self.knocked_out = ()
                self.baseline_accuracy = self.accuracy = None
                self.per_class_accuracy = self.baseline_per_class_accuracy = ()
            return
        with self._busy():
            self._evaluator = evaluator or _Evaluator(self.model, self.X, self.y, self.lengths)
            acc, per = self._evaluator.baseline()
            with self.hold_trait_notifications():
                self.baseline_accuracy = acc
                self.baseline_per_class_accuracy = tuple(float(v) for v in per)
        self._evaluate()

    @observe("knocked_out")
    def _knockouts_changed(self, change: Any) -> None:
        self._evaluate()

    def _evaluate(self) -> None:
        evaluator = self._evaluator
        if evaluator is None:
            return
        # One evaluation at a time; if the knockout changed while it ran (another thread), evaluate
        # again, so the published accuracy always belongs to the current knockout (last state wins).
        with self._eval_lock, self._busy():
            while True:
                labels = self.knocked_out
                acc, per = evaluator.evaluate(labels)
                if self.knocked_out == labels:
                    break
            with self.hold_trait_notifications():
                self.accuracy = acc
                self.per_class_accuracy = tuple(float(v) for v in per)

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        # A counter, not a saved flag: computations in several threads may overlap.
        with self._busy_lock:
            self._busy_count += 1
        self.busy = True
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy_count -= 1
                idle = self._busy_count == 0
            if idle:
                self.busy = False

    # ------------------------------------------------------------------ relay maps
    def _is_continuous(self, estimator: str) -> bool:
        names = _registry_names("estimator") or {}
        est = names.get(estimator)
        return getattr(est, "kind", "discrete") == "continuous"

    def _key(self) -> tuple[str, str]:
        return (self.estimator, "" if self._is_continuous(self.estimator) else self.discretizer)

    def _key_of(self, relays: xr.Dataset) -> tuple[str, str]:
        est = str(relays.attrs.get("estimator", self.estimator))
        disc = str(relays.attrs.get("discretizer", self.discretizer))
        return (est, "" if self._is_continuous(est) else disc)

    @staticmethod
    def _describe_key(key: tuple[str, str]) -> str:
        return key[0] if not key[1] else f"{key[0]} / {key[1]}"

    def _adopt_settings(self, relays: xr.Dataset) -> None:
        """Take estimator, discretizer, threshold and alpha from a relay map's attributes."""
        attrs = relays.attrs
        for name in ("estimator", "discretizer", "threshold", "alpha"):
            value = attrs.get(name)
            if is_real(value):
                value = float(value)
            elif not (isinstance(value, str) and value):
                continue
            try:
                setattr(self, name, value)
            except TraitError:  # e.g. a custom estimator object: keep the current setting
                pass

    def _derive(self) -> None:
        raw = self._raw
        if raw is None:
            return
        from ..relay import relays_at

        shown = relays_at(raw, self.threshold)
        if "p_value" in shown:
            p = shown["p_value"].values
            with np.errstate(invalid="ignore"):
                sig = np.where(np.isnan(p), False, p < self.alpha)
            attrs = shown["significant"].attrs if "significant" in shown else {}
            shown["significant"] = (shown["p_value"].dims, sig, attrs)
            shown.attrs["alpha"] = self.alpha
        self._derived = shown
        self.relays = shown

    def _show(self, raw: xr.Dataset, how: str) -> None:
        self._raw = raw
        self.stale = False
        self._derive()
        self.status = f"{self._describe_key(self._key_of(raw))}: {how}."

    def recompute(self, *, progress: bool | None = None) -> xr.Dataset:
        """Show the relay map for the current estimator and discretizer, computing it if not cached.

        Parameters
        ----------
        progress : bool, optional
            Show find_relays' progress bar (default: the ``progress`` trait).

        Returns
        -------
        xarray.Dataset
            The relay map as shown (``relays``).
        """
        key = self._key()
        if key in self._cache:
            self._show(self._cache[key], "cached")
            return self.relays
        if self.recording is None:
            raise ExplorerStateError("Recompute needs a recording: create the explorer with Explorer(recording).")
        from ..relay import find_relays

        kwargs = dict(self.find_relays_kwargs)
        kwargs.update(
            estimator=self.estimator,
            discretizer=self.discretizer,
            threshold=self.threshold,
            alpha=self.alpha,
            progress=self.progress if progress is None else bool(progress),
        )
        with self._busy():
            self.status = f"{self._describe_key(key)}: computing ..."
            t0 = _time.perf_counter()
            try:
                raw = find_relays(self.recording, **kwargs)
            except BaseException:
                self.status = f"{self._describe_key(key)}: failed (see the error above)."
                raise
            seconds = _time.perf_counter() - t0
        self._cache[key] = raw
        self._show(raw, f"computed in {seconds:.1f} s")
        return self.relays

    @property
    def cached_settings(self) -> list[tuple[str, str]]:
        """(estimator, discretizer) pairs whose relay maps are cached."""
        return list(self._cache)

    # ------------------------------------------------------------------ knockout actions
    def toggle(self, node: str) -> None:
        """Knock ``node`` out, or restore it when it is knocked out already."""
        current = set(self.knocked_out)
        current.symmetric_difference_update({str(node)})
        self.knocked_out = tuple(current)

    def knock_out_relays(self, concept: str | None = None, time: int | None = None) -> tuple[str, ...]:
        """Knock out exactly the relay set of ``concept`` at ``time`` (default: the selection)."""
        if self.relays is None:
            raise ExplorerStateError("There is no relay map yet: press Recompute (or pass relays=...) first.")
        nodes = tuple(self.relay_nodes(concept, time))
        self.knocked_out = nodes
        return self.knocked_out

    def random_control(self, size: int | None = None, seed: int | None = None) -> tuple[str, ...]:
        """Knock out a random node set of the same size as the selected relay set (the causal control).

        The draw is matched layer by layer: as many nodes of each layer as the relay set of the
        selected concept and step has there (METHOD.md, "Knockouts").

        Parameters
        ----------
        size : int, optional
            Draw this many nodes from all layers instead (default: match the selected relay set, or
            the current knockout when that set is empty).
        seed : int, optional
            Seed of the draw; by default the ``random_seed`` trait, which then advances by one so
            that each click draws a new set.

        Returns
        -------
        tuple of str
            The knocked-out labels.
        """
        from ..knockout.spec import Knockout, parse_node_label

        labels = self.node_labels
        if seed is None:
            seed = self.random_seed
            self.random_seed = seed + 1
        elif not is_int(seed) or seed < 0:
            raise self._fail("seed", "None or an int in [0, inf) (the seed of the random draw)", seed)
        rng = np.random.default_rng(seed)
        if size is not None:
            if not is_int(size) or not 0 <= size <= len(labels):
                raise self._fail("size", f"an int in [0, {len(labels)}]", size)
            chosen = [str(v) for v in rng.choice(labels, size=int(size), replace=False)]
        else:
            template = self.relay_nodes() or list(self.knocked_out)
            units_per_layer: dict[tuple[str | None, int], int] = {}
            for label in labels:
                module, layer, _ = parse_node_label(label, with_module=True)
                units_per_layer[module, layer] = units_per_layer.get((module, layer), 0) + 1
            chosen = []
            # Size-matched draws from the same layer, as in the causal test (Knockout.random_like).
            for spec in knockouts_for(template):
                hidden = units_per_layer[spec.module, spec.layer]
                chosen.extend(Knockout.random_like(spec, rng, hidden_size=hidden).labels)
        self.knocked_out = tuple(chosen)
        return self.knocked_out

    def reset_knockout(self) -> None:
        """Restore every node (no knockout)."""
        self.knocked_out = ()

    # ------------------------------------------------------------------ causal view
    def _effects_key(self) -> tuple:
        return ("effects", self.effect_value, self.effect_window)

    def _causal_key(self) -> tuple:
        return ("causal", self.effect_value, self.concept, self.causal_target)

    def _deletion_key(self) -> tuple:
        relay = None if self.relays is None else (self._key(), self.relay_ranking)
        return ("deletion", self.effect_value, self.concept, self.time, relay, self.n_random)

    @property
    def baseline_rankings(self) -> list[str]:
        """The baselines the deletion plot compares the relay ranking with, as far as the model offers them.

        The readout-weight ranking reads a linear readout of the last layer's units, which a
        RecurrentClassifier has and a wrapped model (:func:`relaywidgets.stepwise`) with a head of its own
        does not; gradient x activation works for both.
        """
        return [name for name in BASELINE_RANKINGS if name != "readout" or hasattr(self.model, "readout")]

    def _clear_causal(self) -> None:
        self._causal_cache.clear()
        self._causal_asked = False
        self._show_causal()

    @observe("concept", "time", "relays", "effect_value", "effect_window", "causal_target", "relay_ranking",
             "n_random")
    def _causal_selection_changed(self, change: Any) -> None:
        self._show_causal()

    def _show_causal(self, how: str = "cached") -> None:
        """Show the cached results of the current settings and selection; say what is missing."""
        cache = self._causal_cache
        effects, causal, deletion = (cache.get(k()) for k in (self._effects_key, self._causal_key, self._deletion_key))
        missing = [name for name, r in (("effect map", effects), ("causal set", causal), ("deletion curves", deletion))
                   if r is None]
        with self.hold_trait_notifications():
            self.effects, self.causal, self.deletion = effects, causal, deletion
            self.causal_stale = self._causal_asked and bool(missing)
            where = f"{concept_title(self.concept)}, t={self.time}, knockout value {self.effect_value!r}"
            if not self._causal_asked:
                self.causal_status = "no causal map yet: press Compute causal map."
            elif missing:
                self.causal_status = f"{where}: {', '.join(missing)} not computed yet, press Compute causal map."
            else:
                self.causal_status = f"{where}: {how}."

    def compute_causal(self, *, progress: bool | None = None) -> xr.Dataset:
        """Compute what the causal view shows for the current settings and selection, reusing cached results.

        The effect map (every concept, unit and step; :func:`relaywidgets.knockout.effect_map`) for
        ``effect_value`` and ``effect_window``; the causal set of the selected concept
        (:func:`~relaywidgets.knockout.causal_set`, knockouts over every step, ``causal_target``); and its
        deletion curves (:func:`~relaywidgets.knockout.deletion_curve`): the relay ranking
        ``relay_ranking`` at the selected step (when there is a relay map) and the baselines readout
        weight and gradient x activation, against ``n_random`` random k-sets.

        Parameters
        ----------
        progress : bool, optional
            Show progress bars (tqdm.auto; default: the ``progress`` trait).

        Returns
        -------
        xarray.Dataset
            The effect map (``effects``).

        Raises
        ------
        ExplorerStateError
            Without a model, or for ``effect_value="mean"`` without a recording to take the means from.
        """
        if not self.has_model:
            raise ExplorerStateError(
                "The causal map needs the model: create the explorer with model=... (and X, y, or it reuses the "
                "recording's inputs), e.g. relaywidgets.explore(model, X, y)."
            )
        value = self.effect_value
        if value == "mean" and self.recording is None:
            raise ExplorerStateError("Knockouts to the mean need a recording of the model to take the means from; "
                                     "create the explorer with Explorer(recording, ...), or use effect_value='zero'.")
        from ..knockout import causal_set, deletion_curve, effect_map

        progress = self.progress if progress is None else bool(progress)
        self._causal_asked = True
        common = dict(lengths=self.lengths, value=value, reference=self.recording if value == "mean" else None,
                      progress=progress)
        model, X, y, cache = self.model, self.X, self.y, self._causal_cache
        concept = self.concept or "all"
        t0 = _time.perf_counter()
        computed = False
        with self._busy():
            # Each result is shown as soon as it exists, so an error in a later one leaves the earlier ones.
            try:
                key = self._effects_key()
                if key not in cache:
                    self.causal_status = "computing the effect map ..."
                    cache[key] = effect_map(model, X, y, window=self.effect_window, **common)
                    computed = True
                    self.effects = cache[key]
                key = self._causal_key()
                if key not in cache:
                    self.causal_status = f"computing the causal set of {concept_title(concept)} ..."
                    cache[key] = causal_set(model, X, y, concept, target=self.causal_target, **common)
                    computed = True
                    self.causal = cache[key]
                key = self._deletion_key()
                if key not in cache:
                    self.causal_status = f"computing the deletion curves of {concept_title(concept)} ..."
                    names = self.baseline_rankings
                    if self.relays is not None:
                        names.insert(0, self.relay_ranking)
                    cache[key] = deletion_curve(
                        model, X, y, names, concept, n_random=self.n_random, relays=self.relays,
                        time=int(self.time), **common,
                    )
                    computed = True
            finally:
                seconds = _time.perf_counter() - t0
                self._show_causal(f"computed in {seconds:.1f} s" if computed else "cached")
        return self.effects

    def knock_out_causal_set(self) -> tuple[str, ...]:
        """Knock out the causal set of the selected concept (as computed by :meth:`compute_causal`).

        The knockout panel then evaluates it as any other knockout: every step, clamped to zero.
        """
        if self.causal is None:
            raise ExplorerStateError(
                f"There is no causal set of {concept_title(self.concept)} yet: press Compute causal map first."
            )
        self.knocked_out = tuple(str(v) for v in self.causal["order"].values)
        return self.knocked_out

    # ------------------------------------------------------------------ errors
    @contextlib.contextmanager
    def reporting(self) -> Iterator[None]:
        """Run a user action: clear the error first, and show any exception in ``error`` instead of raising.

        Views wrap their callbacks in it so that errors appear in the explorer's error area.
        """
        self.error = ""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - shown to the user, who can act on it
            self.error = f"{type(exc).__name__}: {exc}"

    def __repr__(self) -> str:
        parts = [f"concept={self.concept!r}", f"time={self.time}", f"estimator={self.estimator!r}",
                 f"discretizer={self.discretizer!r}", f"threshold={self.threshold}", f"alpha={self.alpha}",
                 f"knocked_out={self.knocked_out}"]
        return f"ExplorerState({', '.join(parts)})"

