"""The data contracts of relaywidgets and their checks, free of torch so every floor can use them.

- the recording (docs/recording.md): :func:`check_recording`;
- the node-label grammar of both (``"l0.h17"``): :func:`node_label`, :func:`parse_node_label`;
- the relay result (docs/relays.md): :func:`check_relays`, and the one concept resolver of both,
  :func:`resolve_concept` (with :func:`concept_classes`, :func:`concept_names`), and
  :func:`concept_title`, the human name of a concept.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import xarray as xr

from ._validation import is_int
from .errors import InputError, RecordingError, RelaywidgetsError

__all__ = [
    "check_recording",
    "RECORDING_FORMAT",
    "check_relays",
    "RELAY_VARIABLES",
    "resolve_concept",
    "concept_classes",
    "concept_names",
    "concept_title",
    "node_label",
    "parse_node_label",
    "NODE_LABEL",
]

RECORDING_FORMAT = "recording/1"
_REQUIRED_VARS = {
    "hidden": ("node", "time", "sample"),
    "input": ("feature", "time", "sample"),
    "label": ("sample",),
    "prediction": ("sample",),
    "logits": ("class", "sample"),
    "length": ("sample",),
}
# Attributes describe the network and the run. None is needed for analysis: the structural ones are read off the
# data when absent (and must agree with it when present); the provenance ones (task, seed, relaywidgets_version,
# created) are only kept for the record.
_STRUCTURE_ATTRS = {"input_size": "feature", "num_classes": "class"}


def check_recording(ds: Any) -> xr.Dataset:
    """Verify that ``ds`` follows the recording contract (docs/recording.md) and return it.

    Raises
    ------
    RecordingError
        Naming the first problem found and how to fix it.
    """
    hint = (
        " Make recordings with relaywidgets.record(model, X, y), from arrays of activations with "
        "relaywidgets.recording_from_arrays(hidden, prediction, ...), or read one with relaywidgets.load_recording(path)."
    )
    if not isinstance(ds, xr.Dataset):
        raise RecordingError(f"A recording must be an xarray.Dataset; got {type(ds).__name__}.{hint}")
    fmt = ds.attrs.get("relaywidgets_format")
    if fmt is not None and fmt != RECORDING_FORMAT:
        raise RecordingError(
            f"This Dataset is not a relaywidgets recording (attribute relaywidgets_format is {fmt!r}, expected "
            f"{RECORDING_FORMAT!r}).{hint}"
        )
    for name, dims in _REQUIRED_VARS.items():
        if name not in ds.data_vars:
            if fmt is None:
                raise RecordingError(
                    f"This Dataset is not a relaywidgets recording: it has no {name!r} variable {dims} (and no "
                    f"relaywidgets_format attribute).{hint}"
                )
            raise RecordingError(f"The recording has no {name!r} variable; it needs {dims}.{hint}")
        if ds[name].dims != dims:
            raise RecordingError(f"Recording variable {name!r} has dims {ds[name].dims}; the contract says {dims}.")
    for attr, dim in _STRUCTURE_ATTRS.items():
        if attr in ds.attrs and int(ds.attrs[attr]) != ds.sizes[dim]:
            raise RecordingError(
                f"The recording's attribute {attr}={ds.attrs[attr]} disagrees with its {dim!r} dimension of size "
                f"{ds.sizes[dim]}; fix or drop the attribute."
            )
    if ds.attrs.get("arch") == "lstm" and "cell" not in ds.data_vars:
        raise RecordingError("An LSTM recording must hold the 'cell' variable (node, time, sample).")
    for coord in ("layer", "unit"):
        if coord not in ds.coords or ds[coord].dims != ("node",):
            raise RecordingError(f"The recording needs the non-dimension coordinate {coord!r} along 'node'.")
    if "node" not in ds.coords:
        raise RecordingError("The recording needs node labels as the 'node' coordinate (e.g. 'l0.h3').")
    labels, counts = np.unique(np.asarray(ds["node"].values).astype(str), return_counts=True)
    if (counts > 1).any():
        repeated = [str(v) for v in labels[counts > 1][:3]]
        raise RecordingError(
            f"The recording's node labels must be unique; {repeated} occur more than once, so a relay or a "
            "knockout could not say which unit it means. Select each unit once (e.g. rec.isel(node=...)) or "
            "relabel them (relaywidgets.node_label(layer, unit))."
        )
    if ds["hidden"].dtype != np.float32:
        raise RecordingError(f"Recording variable 'hidden' must be float32; got {ds['hidden'].dtype}.")
    for name in ("label", "prediction", "length"):
        if not np.issubdtype(ds[name].dtype, np.integer):
            raise RecordingError(f"Recording variable {name!r} must hold integers; got {ds[name].dtype}.")
    n_time = ds.sizes["time"]
    steps = _check_time_coordinate(ds)
    length = ds["length"].values
    # A full recording numbers its steps 0 .. T-1, so a length beyond T is wrong; a subset of steps
    # (rec.isel(time=slice(3, 8)), rec.sel(time=[0, 4, 9])) keeps the original step numbers and lengths,
    # which may then run past its last kept step.
    full = steps.size == n_time and np.array_equal(steps, np.arange(n_time))
    if length.size and (length.min() < 1 or (full and length.max() > n_time)):
        raise RecordingError(f"Recording 'length' values must lie in 1 .. {n_time}.")
    n_classes = ds.sizes["class"]
    for name in ("label", "prediction"):
        vals = ds[name].values
        if vals.size and (vals.min() < 0 or vals.max() >= n_classes):
            raise RecordingError(f"Recording {name!r} values must lie in 0 .. {n_classes - 1}.")
    if ds.sizes["sample"] < 1:
        raise RecordingError("The recording holds no samples.")
    return ds


def _check_time_coordinate(ds: xr.Dataset) -> np.ndarray:
    """The ``time`` coordinate as int64 step numbers, checked: whole numbers >= 0, each once.

    A step's number is its position in the recorded sequences (0 = first step), and ``length`` counts steps
    from step 0, so a sample is running at step ``t`` when ``length > t``. A subset of steps keeps its
    numbers; a relabelled coordinate (``time + 5``) is caught where its steps are analysed, by the padding
    check of :func:`relaywidgets.relay._prepare.check_padding`.
    """
    if "time" not in ds.coords:
        raise RecordingError(
            "The recording needs the step numbers as the 'time' coordinate (0 .. T-1 for a full recording); "
            "add them with rec.assign_coords(time=np.arange(rec.sizes['time']))."
        )
    raw = np.asarray(ds["time"].values)
    fix = (
        " A step's number is its position in the recorded sequences (0 = first step), the scale 'length' counts "
        "on; keep the numbers a recording was made with (select steps with rec.isel(time=...) or rec.sel(time=...) "
        "rather than relabelling them)."
    )
    floats = raw.dtype.kind == "f"
    whole = raw.dtype.kind in "iu" or (floats and bool(np.all(np.isfinite(raw) & (raw == np.round(raw)))))
    if not whole:
        raise RecordingError(f"The recording's 'time' coordinate must hold whole step numbers; got {raw[:6]!r}.{fix}")
    steps = raw.astype(np.int64)
    if steps.size and steps.min() < 0:
        raise RecordingError(
            f"The recording's 'time' coordinate holds negative step numbers (down to {steps.min()}).{fix}"
        )
    values, counts = np.unique(steps, return_counts=True)
    if (counts > 1).any():
        raise RecordingError(
            f"The recording's 'time' coordinate lists step(s) {values[counts > 1][:6].tolist()} more than once, so "
            f"a result could not say which step it means.{fix}"
        )
    return steps


# --------------------------------------------------------------------------------------------------
# node labels


#: The grammar of a node label: layer and unit of a hidden unit, ``"l<layer>.h<unit>"``, optionally after the
#: path of the recurrent submodule that holds it and a colon (``"encoder.lstm:l0.h5"``, models wrapped with
#: :func:`relaywidgets.stepwise`). Groups: ``module`` (None without a prefix), ``layer``, ``unit``.
NODE_LABEL = re.compile(r"^(?:(?P<module>[^:\s]+):)?l(?P<layer>\d+)\.h(?P<unit>\d+)$")


def node_label(layer: int, unit: int, module: str | None = None) -> str:
    """Return the label of hidden unit ``unit`` of layer ``layer``, as recordings and relay results name it.

    Parameters
    ----------
    layer, unit : int
        Layer (within ``module`` when given) and unit.
    module : str, optional
        Path of the recurrent submodule in a model wrapped with :func:`relaywidgets.stepwise`
        (``"encoder.lstm"``, as ``model.named_modules()`` names it); the label is then prefixed with it.

    Examples
    --------
    >>> node_label(0, 17)
    'l0.h17'
    >>> node_label(0, 5, module="encoder.lstm")
    'encoder.lstm:l0.h5'
    """
    # a label is parsed back by NODE_LABEL: anything else would print a label no function can read
    for name, value in (("layer", layer), ("unit", unit)):
        if not is_int(value) or value < 0:
            raise InputError(f"The {name!r} parameter of node_label must be an int in [0, inf). Got {value!r} instead.")
    if module is not None and (not isinstance(module, str) or not re.fullmatch(r"[^:\s]*", module)):
        raise InputError("The 'module' parameter of node_label must be None or a submodule path without ':' or "
                         f"spaces (e.g. 'encoder.lstm'). Got {module!r} instead.")
    return f"{module}:l{int(layer)}.h{int(unit)}" if module else f"l{int(layer)}.h{int(unit)}"


def parse_node_label(
    label: str, *, error: type[RelaywidgetsError] = InputError, with_module: bool = False
) -> tuple[int, int] | tuple[str | None, int, int]:
    """Split a node label such as ``"l1.h5"`` into ``(layer, unit)``.

    Parameters
    ----------
    label : str
        A node label of a recording or a relay result.
    error : type, default InputError
        The error class to raise (readers raise their own family, e.g. ``KnockoutError``).
    with_module : bool, default False
        Return ``(module, layer, unit)``, with ``module`` the submodule prefix (``None`` for a plain label).
        Without it a prefixed label gives the layer within its submodule.

    Raises
    ------
    InputError (or ``error``)
        When the label does not have the form ``"l<layer>.h<unit>"`` or ``"<module>:l<layer>.h<unit>"``.

    Examples
    --------
    >>> parse_node_label("l1.h5")
    (1, 5)
    >>> parse_node_label("encoder.lstm:l0.h5", with_module=True)
    ('encoder.lstm', 0, 5)
    """
    match = NODE_LABEL.match(str(label))
    if match is None:
        raise error(
            f"Node label {label!r} is not of the form 'l<layer>.h<unit>' (e.g. 'l0.h17') or "
            "'<module>:l<layer>.h<unit>' (e.g. 'encoder.lstm:l0.h5'); use the labels of a recording's `node` "
            "coordinate or plain unit indices."
        )
    layer, unit = int(match.group("layer")), int(match.group("unit"))
    if with_module:
        return match.group("module"), layer, unit
    return layer, unit


# --------------------------------------------------------------------------------------------------
# the relay result

#: Variables of a relay result and their dims (docs/relays.md). Only ``is_relay`` is required; the
#: others are checked when present, and a reader names those it needs with ``require=``.
RELAY_VARIABLES: dict[str, tuple[str, ...]] = {
    "is_relay": ("concept", "time", "node"),
    "contribution": ("concept", "time", "node"),
    "elimination_rank": ("concept", "time", "node"),
    "aggregated_score": ("concept", "time", "node"),
    "marginal_mi": ("concept", "time", "node"),
    "unique_relay": ("concept", "time", "node"),
    "total": ("concept", "time"),
    "relay_size": ("concept", "time"),
    "p_value": ("concept", "time"),
    "null_mean": ("concept", "time"),
    "p_value_relay": ("concept", "time"),
    "null_mean_relay": ("concept", "time"),
    "significant": ("concept", "time"),
    "curve": ("concept", "time", "step"),
    "removed": ("concept", "time", "step"),
}
_RELAY_DIMS = ("concept", "time", "node")


def check_relays(
    result: Any,
    owner: str = "check_relays",
    *,
    require: Sequence[str] = (),
    name: str = "relays",
    error: type[RelaywidgetsError] = InputError,
) -> xr.Dataset:
    """Verify that ``result`` is a relay result (docs/relays.md) and return it.

    A relay result is the Dataset returned by :func:`relaywidgets.relay.find_relays` or
    :func:`relaywidgets.relay.relays_at`: dims ``concept``, ``time``, ``node``, a boolean
    ``is_relay (concept, time, node)`` and coordinates along the three dims. Every other variable of
    the format is optional here, but must have its dims when present (in any order).

    Parameters
    ----------
    result : Any
        The object to check.
    owner : str
        The function asking, named in the message.
    require : sequence of str
        Further variables the caller reads (e.g. ``("contribution", "relay_size")``).
    name : str, default "relays"
        The caller's name for the argument, named in the message.
    error : type, default InputError
        The error class to raise, so that each reader keeps its own error family.

    Returns
    -------
    xarray.Dataset
        ``result`` itself.

    Raises
    ------
    InputError (or ``error``)
        Naming the first problem found and how to fix it.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import find_relays
    >>> rec, _ = planted_relay("single", n_nodes=3, n_samples=400)
    >>> res = check_relays(find_relays(rec, concepts=[1], n_perm=0, progress=False))
    >>> check_relays(rec)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    relaywidgets.errors.InputError: check_relays: relays must be the Dataset returned by ...
    """
    fix = " Run `relays = relaywidgets.find_relays(recording)` (or relays_at(relays, threshold)) first."
    if not isinstance(result, xr.Dataset) or "is_relay" not in result.data_vars:
        what = "a Dataset without an 'is_relay' variable" if isinstance(result, xr.Dataset) else type(result).__name__
        raise error(
            f"{owner}: {name} must be the Dataset returned by relaywidgets.find_relays (dims concept, time, node "
            f"and an 'is_relay' variable); got {what}.{fix}"
        )
    missing = [d for d in _RELAY_DIMS if d not in result.dims]
    if missing:
        raise error(
            f"{owner}: {name} must be a relay result with dims concept, time, node; this one lacks {missing}.{fix}"
        )
    for var in require:  # the caller's argument, e.g. agreement(score=...): a name, or the lookup below is a raw error
        if not isinstance(var, str):
            raise error(f"{owner}: the variable to read must be named by a str (e.g. 'contribution'); got {var!r}.")
    for var in dict.fromkeys(("is_relay", *require, *RELAY_VARIABLES)):
        if var not in result.data_vars:
            if var in require or var == "is_relay":
                raise error(f"{owner}: {name} has no {var!r} variable, which {owner} reads.{fix}")
            continue
        expected = RELAY_VARIABLES.get(var)
        if expected is not None and set(result[var].dims) != set(expected):
            raise error(
                f"{owner}: {name}[{var!r}] has dims {result[var].dims}; the relay-result format (docs/relays.md) "
                f"says {expected}.{fix}"
            )
    if result["is_relay"].dtype != bool:
        raise error(f"{owner}: {name}['is_relay'] must be boolean; got {result['is_relay'].dtype}.{fix}")
    lacking = [d for d in _RELAY_DIMS if d not in result.coords]
    if lacking:
        raise error(
            f"{owner}: {name} needs coordinates along {lacking} (concept labels, time steps, node labels).{fix}"
        )
    empty = [d for d in _RELAY_DIMS if result.sizes[d] == 0]
    if empty:  # sliced to nothing: no reader has a relay set to show or use (and numpy's reductions fail on it)
        raise error(f"{owner}: {name} holds no {' and no '.join(f'{d}s' for d in empty)} (sliced to nothing?).{fix}")
    return result


def concept_title(concept: Any) -> str:
    """Human name of a concept label: ``"class 2"`` for a class, ``"the decision (all classes)"`` for ``"all"``.

    Examples
    --------
    >>> concept_title("2"), concept_title("all")
    ('class 2', 'the decision (all classes)')
    """
    label = str(concept)
    if label == "all":
        return "the decision (all classes)"
    return label if label.startswith("class ") else f"class {label}"


def concept_names(rec: xr.Dataset) -> list[str]:
    """Concept labels of a recording's classes: the class names when unique, else ``"class {i}"``.

    ``"all"`` (the whole decision) is not among them: it is a concept of every recording.
    """
    n = rec.sizes["class"]
    if "class_name" in rec.coords:
        names = [str(v) for v in rec["class_name"].values]
        if len(set(names)) == n and "all" not in names and all(names):
            return names
    return [f"class {i}" for i in range(n)]


def concept_classes(result: xr.Dataset) -> list[int | None]:
    """Class index of every concept of a relay result: -1 for ``"all"``, None where it cannot be told.

    Read from the ``concept_class`` coordinate when there is one (find_relays writes it), else from
    the labels: an integer, ``"class 3"``, or a name listed in the ``class_name`` attribute.

    Examples
    --------
    >>> import xarray as xr
    >>> concept_classes(xr.Dataset(coords={"concept": ["class 0", "2", "all", "cat"]}))
    [0, 2, -1, None]
    """
    for coord in ("concept_class", "class_index", "class"):
        if coord in result.coords and result[coord].dims == ("concept",):
            return [int(v) for v in result[coord].values]
    names = [str(n) for n in np.atleast_1d(result.attrs.get("class_name", []))]
    out: list[int | None] = []
    for value in result["concept"].values:
        value = value.item() if hasattr(value, "item") else value
        text = str(value)
        match = re.fullmatch(r"(?:class )?(\d+)", text)
        if is_int(value):
            out.append(int(value))
        elif text == "all":
            out.append(-1)
        elif match:
            out.append(int(match.group(1)))
        elif text in names:
            out.append(names.index(text))
        else:
            out.append(None)
    return out


def _match_concept(labels: list[str], classes: Sequence[int | None], concept: Any) -> int | None:
    """The rules of concept resolution, shared by relay results and recordings.

    A string names a concept by its label; an int names it by its class index (never by position, so
    that ``1`` means class 1 whether or not class 0 was analysed).
    """
    if isinstance(concept, (str, np.str_)):
        text = str(concept)
        return labels.index(text) if text in labels else None
    if is_int(concept):
        return list(classes).index(int(concept)) if int(concept) in classes else None
    return None


def resolve_concept(
    result: xr.Dataset,
    concept: Any,
    owner: str = "resolve_concept",
    *,
    error: type[RelaywidgetsError] = InputError,
) -> int:
    """Position of ``concept`` on the ``concept`` axis of a relay result.

    Parameters
    ----------
    result : xarray.Dataset
        A relay result (docs/relays.md), or a recording (docs/recording.md): then the axis is the
        recording's concepts, its classes (:func:`concept_names`) followed by ``"all"``.
    concept : str or int
        A concept label (``"1"``, ``"class 2"``, a class name, ``"all"``) or a class index.
    owner : str
        The function asking, named in the message.
    error : type, default InputError
        The error class to raise.

    Returns
    -------
    int
        The position along ``concept``.

    Raises
    ------
    InputError (or ``error``)
        When the result holds no such concept; the message lists the concepts it holds.

    Examples
    --------
    >>> import xarray as xr
    >>> res = xr.Dataset(coords={"concept": ["0", "1", "all"], "concept_class": ("concept", [0, 1, -1])})
    >>> resolve_concept(res, "all"), resolve_concept(res, 1)
    (2, 1)
    """
    if "concept" in result.dims:
        labels = [str(v.item() if hasattr(v, "item") else v) for v in result["concept"].values]
        classes = concept_classes(result)
        pos = _match_concept(labels, classes, concept)
        if pos is None:
            known = [c for c in classes if c is not None and c >= 0]
            raise error(
                f"Concept {concept!r} is not in the relay analysis; its concepts are {labels}. The 'concept' "
                f"parameter of {owner} must be one of these labels or a class index{f' {known}' if known else ''}; "
                f"got {concept!r} instead. Pass `concepts=` to find_relays to analyse more concepts."
            )
        return pos
    if "class" not in result.dims:
        raise error(f"{owner} needs a relay result (dims concept, time, node) or a recording to find concepts in.")
    names = concept_names(result)
    n = len(names)
    pos = _match_concept([*names, "all"], [*range(n), None], concept)
    if pos is not None:
        return pos
    if isinstance(concept, (str, np.str_)):
        shown = ", ".join(repr(v) for v in names[:6]) + (", ..." if n > 6 else "")
        raise error(
            f"Concept {str(concept)!r} is not a class of the recording. Use a class index 0 .. {n - 1}, a "
            f"class name from [{shown}] ({n} in all), or 'all' for the whole decision."
        )
    if is_int(concept):
        raise error(
            f"Concept {int(concept)} is not a class of the recording; its classes are 0 .. {n - 1} "
            "(or use 'all' for the whole decision)."
        )
    raise error(
        f"The 'concept' parameter of {owner} must be a class index, a class name or 'all'. Got {concept!r} instead."
    )
