"""What the explorer app offers: the tasks and data sets, the shipped network of each (task, architecture),
and the data a network is trained and tested on when the app trains one."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["ARCHS", "TASK_DATA", "choices", "collect_warnings", "describe", "shipped", "training_data"]

#: The architectures a student can pick (relaywidgets.models.ARCHITECTURES; not imported, so that
#: building the app's controls does not import torch).
ARCHS = ("rnn", "lstm", "gru")

#: How the app draws a synthetic task's data when no shipped network of that task says otherwise: the
#: recipe of the shipped task networks (experiments/train_pretrained.py), one draw whose first
#: ``n_train`` sequences train and last ``n_test`` test.
TASK_DATA = {"n_train": 1000, "n_test": 500, "seq_len": 20, "seed": 2026}


def choices() -> dict[str, str]:
    """Task or data-set name -> ``"task"`` or ``"dataset"``, synthetic tasks first.

    Examples
    --------
    >>> from relaywidgets.widgets.app_catalog import choices
    >>> choices()["delayed-cue"], choices()["GunPoint"]
    ('task', 'dataset')
    """
    from ..data import datasets
    from ..tasks import tasks

    out = {name: "task" for name in tasks()}
    out.update({name: "dataset" for name in datasets()})
    return out


def describe(name: str) -> str:
    """One line about the task or data set ``name`` (without its name), for the app's description."""
    if choices()[name] == "task":
        from ..tasks import tasks

        text = tasks()[name]
        # tasks() lines read "delayed-cue: hold a class-coded cue ...": the app shows the name already.
        return text.split(": ", 1)[1] if text.startswith(f"{name}: ") else text
    from ..data import datasets

    info = datasets()[name]
    return (f"{info.description} ({info.archive}: {info.n_classes} classes, {info.n_train} training and "
            f"{info.n_test} test sequences of up to {info.max_length} steps)")


def shipped() -> dict[tuple[str, str], Any]:
    """(task, arch) -> the :class:`~relaywidgets.pretrained.PretrainedInfo` of the network shipped for the pair
    (the first listed when there are several).

    Examples
    --------
    >>> from relaywidgets.widgets.app_catalog import shipped
    >>> shipped()[("delayed-cue", "gru")].name
    'delayed-cue-gru'
    """
    from ..pretrained import pretrained

    out: dict[tuple[str, str], Any] = {}
    for info in pretrained().values():
        out.setdefault((info.task, info.arch), info)
    return out


def training_data(task: str, recipe: dict | None = None) -> tuple:
    """Train and test splits of ``task`` for a network the app trains.

    Parameters
    ----------
    task : str
        A synthetic task (drawn with ``recipe``) or a bundled data set (its published split; needs aeon).
    recipe : dict, optional
        ``n_train``, ``n_test``, ``seq_len``, ``seed`` of a synthetic task; default :data:`TASK_DATA`.

    Returns
    -------
    tuple
        ``(X_train, y_train, lengths_train, X_test, y_test, lengths_test, class_names)``; the lengths are
        None for a synthetic task.

    Examples
    --------
    >>> from relaywidgets.widgets.app_catalog import training_data
    >>> X_tr, y_tr, l_tr, X_te, y_te, l_te, names = training_data("temporal-xor")
    >>> X_tr.shape, X_te.shape, l_tr, names
    ((1000, 20, 2), (500, 20, 2), None, ('0', '1'))
    """
    if choices()[task] == "task":
        from ..tasks import make_task

        r = dict(TASK_DATA if recipe is None else recipe)
        n_train, n_test = int(r["n_train"]), int(r["n_test"])
        X, y = make_task(task, n_samples=n_train + n_test, seq_len=int(r["seq_len"]), seed=int(r["seed"]))
        names = tuple(str(c) for c in range(int(y.max()) + 1))
        return X[:n_train], y[:n_train], None, X[n_train:], y[n_train:], None, names
    from ..data import load_dataset

    ds = load_dataset(task)
    return ds.X_train, ds.y_train, ds.lengths_train, ds.X_test, ds.y_test, ds.lengths_test, tuple(ds.class_names)


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Collect the messages of the warnings raised inside (the app shows them in its notes rather than as
    stderr text the page would show out of context); the list is filled on exit."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield messages
        finally:
            messages.extend(str(w.message) for w in caught)
