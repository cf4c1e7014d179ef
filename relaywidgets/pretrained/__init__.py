"""Small trained networks shipped with the package, listed and loaded by name.

A lesson or the explorer app can open at once instead of training first. Each network was trained by
``experiments/train_pretrained.py`` (seeds and settings recorded in ``manifest.json`` beside the weights),
and its data are regenerated here exactly as they were for training: the synthetic tasks from their seeds
with :func:`relaywidgets.make_task`, the real data sets from the files bundled with aeon. The whole set is
well under 1 MB.

Examples
--------
>>> from relaywidgets.pretrained import pretrained, load_pretrained  # also relaywidgets.load_pretrained
>>> "delayed-cue-gru" in pretrained()
True
>>> net = load_pretrained("delayed-cue-gru")
>>> net.model.arch, net.model.hidden_size, net.X_test.shape
('gru', 16, (500, 20, 4))
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..errors import InputError, ModelFileError

__all__ = ["PretrainedInfo", "PretrainedNetwork", "pretrained", "load_pretrained", "MANIFEST_FORMAT"]

MANIFEST_FORMAT = "relaywidgets-pretrained/1"


@dataclass(frozen=True)
class PretrainedInfo:
    """What a shipped network is and how it was made.

    Attributes
    ----------
    name : str
        The name :func:`load_pretrained` takes, ``"<task>-<arch>"`` (e.g. ``"cue-hold-lstm"``).
    task : str
        A synthetic task of :func:`relaywidgets.tasks.tasks` or a data set of :func:`relaywidgets.datasets`.
    source : {"task", "dataset"}
        Whether ``task`` is a synthetic task or a bundled data set.
    arch : {"rnn", "lstm", "gru"}
    hidden_size : int
    seed : int
        Seed of the network's initial weights and of training.
    data : dict
        How the data were made: ``n_train``, ``n_test``, ``seq_len``, ``seed`` for a task; ``{}`` for a data set.
    training : dict
        The :func:`relaywidgets.train` settings and the epochs run.
    test_accuracy, train_accuracy : float
        Accuracy on the regenerated test and training splits, measured when the network was trained.
    description : str
        One line saying what the network does.
    """

    name: str
    task: str
    source: str
    arch: str
    hidden_size: int
    seed: int
    data: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    test_accuracy: float = float("nan")
    train_accuracy: float = float("nan")
    description: str = ""

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.arch.upper()} with {self.hidden_size} units on {self.task}, "
            f"test accuracy {self.test_accuracy:.3f}"
        )


@dataclass
class PretrainedNetwork:
    """A shipped network with the data it was trained and tested on.

    Attributes
    ----------
    model : RecurrentClassifier
        The trained network, on the CPU, in eval mode.
    info : PretrainedInfo
    X_train, X_test : ndarray of float32, shape (sample, time, feature)
    y_train, y_test : ndarray of int64, shape (sample,)
    lengths_train, lengths_test : ndarray of int64 or None
        Valid steps per sequence for variable-length data sets; ``None`` for the synthetic tasks.
    class_names : tuple of str
    """

    model: Any
    info: PretrainedInfo
    X_train: np.ndarray
    y_train: np.ndarray
    lengths_train: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray
    lengths_test: np.ndarray | None
    class_names: tuple[str, ...]

    @property
    def name(self) -> str:
        """The network's name."""
        return self.info.name


def _package_files() -> Any:
    return resources.files(__name__)


@lru_cache(maxsize=1)
def _manifest() -> dict[str, dict[str, Any]]:
    path = _package_files() / "manifest.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(
            f"The manifest of the shipped networks ({path}) cannot be read ({type(exc).__name__}); the "
            "installation is damaged. Reinstall relaywidgets."
        ) from None
    if payload.get("format") != MANIFEST_FORMAT or not isinstance(payload.get("networks"), dict):
        raise ModelFileError(f"{path} is not a {MANIFEST_FORMAT!r} manifest; reinstall relaywidgets.")
    return payload["networks"]


def _info(name: str, entry: dict[str, Any]) -> PretrainedInfo:
    return PretrainedInfo(
        name=name,
        task=entry["task"],
        source=entry["source"],
        arch=entry["arch"],
        hidden_size=int(entry["hidden_size"]),
        seed=int(entry["seed"]),
        data=dict(entry.get("data", {})),
        training=dict(entry.get("training", {})),
        test_accuracy=float(entry["test_accuracy"]),
        train_accuracy=float(entry["train_accuracy"]),
        description=entry.get("description", ""),
    )


def pretrained() -> dict[str, PretrainedInfo]:
    """List the shipped networks: name → :class:`PretrainedInfo`, in a stable order.

    Reading the list loads no weights and needs no torch.

    Examples
    --------
    >>> from relaywidgets.pretrained import pretrained
    >>> info = pretrained()["cue-hold-lstm"]
    >>> info.task, info.arch, info.source
    ('cue-hold', 'lstm', 'task')
    """
    return {name: _info(name, entry) for name, entry in _manifest().items()}


def _check_name(name: Any) -> dict[str, Any]:
    networks = _manifest()
    if not isinstance(name, str) or name not in networks:
        close = [n for n in networks if isinstance(name, str) and name.lower().replace("_", "-") == n]
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"No shipped network is called {name!r}.{hint} Available: {', '.join(networks)} "
            "(relaywidgets.pretrained.pretrained() lists them with their accuracies)."
        )
    return networks[name]


def _task_data(info: PretrainedInfo) -> tuple[np.ndarray, ...]:
    from ..tasks import make_task

    d = info.data
    X, y = make_task(info.task, n_samples=int(d["n_train"]) + int(d["n_test"]), seq_len=int(d["seq_len"]), seed=int(d["seed"]))
    n = int(d["n_train"])
    return X[:n], y[:n], None, X[n:], y[n:], None


def load_pretrained(name: str) -> PretrainedNetwork:
    """Load the shipped network ``name`` with its training and test data.

    The weights file is checked against the SHA-256 in the manifest (and, as for every model file, against
    the checksum stored inside it), so a damaged installation is refused instead of loading a different
    network.

    Parameters
    ----------
    name : str
        One of :func:`pretrained`.

    Returns
    -------
    PretrainedNetwork
        The model (CPU, eval mode), its :class:`PretrainedInfo`, and its train and test splits.

    Raises
    ------
    InputError
        When no shipped network has that name (the message lists the names).
    ModelFileError
        When the shipped file is missing or damaged.

    Examples
    --------
    >>> from relaywidgets.pretrained import load_pretrained
    >>> from relaywidgets.knockout import evaluate
    >>> net = load_pretrained("temporal-xor-gru")
    >>> acc = float(evaluate(net.model, net.X_test, net.y_test).accuracy)
    >>> round(acc, 2), round(net.info.test_accuracy, 2)
    (1.0, 1.0)
    """
    entry = _check_name(name)
    info = _info(name, entry)
    weights = _package_files() / "networks" / entry["file"]
    try:
        blob = weights.read_bytes()
    except OSError:
        raise ModelFileError(f"The shipped network file {weights} is missing; reinstall relaywidgets.") from None
    if hashlib.sha256(blob).hexdigest() != entry["sha256"]:
        raise ModelFileError(
            f"The shipped network file {weights} does not match the checksum in the manifest; the installation "
            "is damaged. Reinstall relaywidgets."
        )
    from ..serialization import load

    with resources.as_file(weights) as path:
        model = load(path, device="cpu")
    if info.source == "task":
        X_tr, y_tr, l_tr, X_te, y_te, l_te = _task_data(info)
        class_names = tuple(str(c) for c in range(model.num_classes))
    else:
        from ..data import load_dataset

        ds = load_dataset(info.task)
        X_tr, y_tr, l_tr, X_te, y_te, l_te = (
            ds.X_train, ds.y_train, ds.lengths_train, ds.X_test, ds.y_test, ds.lengths_test,
        )
        class_names = tuple(ds.class_names)
    return PretrainedNetwork(model, info, X_tr, y_tr, l_tr, X_te, y_te, l_te, class_names)
