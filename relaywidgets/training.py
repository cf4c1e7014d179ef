"""Training a :class:`~relaywidgets.models.RecurrentClassifier`: seeded, early-stopped, with a progress bar."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ._validation import check_inputs
from .errors import InputError
from .models import RecurrentClassifier, resolve_device

__all__ = ["train", "TrainingHistory"]


@dataclass
class TrainingHistory:
    """What happened during :func:`train`, one entry per epoch.

    Attributes
    ----------
    train_loss, val_loss, val_accuracy : list of float
        Mean cross-entropy on the training split, and loss and accuracy on the validation split.
    best_epoch : int
        Epoch (0-based) whose weights the model holds at the end.
    stopped_early : bool
        Whether training stopped because the validation loss had not improved for ``patience`` epochs.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)


def train(
    model: RecurrentClassifier,
    X: Any,
    y: Any,
    *,
    lengths: Any = None,
    epochs: int = 60,
    lr: float = 1e-2,
    batch_size: int = 64,
    val_fraction: float = 0.2,
    patience: int = 10,
    seed: int = 0,
    weight_decay: float = 0.0,
    clip_grad: float | None = 1.0,
    progress: bool = True,
) -> TrainingHistory:
    """Train ``model`` with Adam on cross-entropy, stopping early on the validation loss.

    The fused torch module is used for speed (knockouts play no role in training); the model ends
    with the weights of its best validation epoch. On the CPU the result is the same for the same seed.

    Parameters
    ----------
    model : RecurrentClassifier
        The network to train in place.
    X : array-like, shape (sample, time, feature)
    y : array-like of int, shape (sample,)
    lengths : array-like of int, shape (sample,), optional
        Valid steps per sequence.
    epochs : int
        Maximum number of passes over the training split.
    lr : float
        Adam learning rate.
    batch_size : int
        Sequences per gradient step.
    val_fraction : float
        Fraction of the samples held out (seeded) for validation and early stopping; 0 trains on all
        and keeps the last epoch.
    patience : int
        Epochs without improvement of the validation loss before stopping.
    seed : int
        Seeds the split, the batch order and torch's generator.
    weight_decay : float
        Adam weight decay.
    clip_grad : float or None
        Gradient-norm clip (helps vanilla RNNs); None disables it.
    progress : bool
        Show a tqdm.auto progress bar over epochs.

    Returns
    -------
    TrainingHistory

    Examples
    --------
    >>> from relaywidgets import RecurrentClassifier, make_task, train
    >>> X, y = make_task("delayed-cue", n_samples=64, seq_len=8, seed=0)
    >>> model = RecurrentClassifier("gru", 4, 8, 4, device="cpu")
    >>> history = train(model, X, y, epochs=2, progress=False)
    >>> len(history.train_loss)
    2
    """
    if not isinstance(model, RecurrentClassifier):
        raise InputError(f"train() needs a RecurrentClassifier; got {type(model).__name__}.")
    Xn, yn, ln = check_inputs(X, y, lengths, num_features=model.input_size, num_classes=model.num_classes)
    for pname, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("patience", patience, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"The {pname!r} parameter of train must be an int in [{low}, inf). Got {value!r} instead.")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise InputError(f"The 'val_fraction' parameter of train must be a float in [0, 1). Got {val_fraction!r} instead.")
    if not float(lr) > 0:
        raise InputError(f"The 'lr' parameter of train must be a float in (0, inf). Got {lr!r} instead.")
    n = Xn.shape[0]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and (n_val < 1 or n - n_val < 1):
        raise InputError(f"val_fraction={val_fraction} leaves an empty split for {n} samples; use more data or val_fraction=0.")
    val_idx, train_idx = order[:n_val], order[n_val:]
    device = model.device
    Xt = torch.from_numpy(Xn).to(device)
    yt = torch.from_numpy(yn).to(device)
    Lt = torch.from_numpy(ln).to(device) if ln is not None else None
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    history = TrainingHistory()
    best_loss = float("inf")
    best_state = copy.deepcopy(model.state_dict())
    since_best = 0

    def batch_logits(idx: np.ndarray) -> torch.Tensor:
        it = torch.from_numpy(idx).to(device)
        return model.fused_forward(Xt[it], Lt[it] if Lt is not None else None)

    bar = tqdm(range(epochs), desc=f"training {model.arch}", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        perm = train_idx[rng.permutation(train_idx.size)]
        total, count = 0.0, 0
        for startb in range(0, perm.size, batch_size):
            idx = perm[startb : startb + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(batch_logits(idx), yt[torch.from_numpy(idx).to(device)])
            loss.backward()
            if clip_grad is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
            total += loss.item() * idx.size
            count += idx.size
        history.train_loss.append(total / count)
        if n_val:
            model.eval()
            with torch.no_grad():
                logits = batch_logits(val_idx)
                yv = yt[torch.from_numpy(val_idx).to(device)]
                vloss = float(loss_fn(logits, yv))
                vacc = float((logits.argmax(1) == yv).float().mean())
            history.val_loss.append(vloss)
            history.val_accuracy.append(vacc)
            bar.set_postfix(val_loss=f"{vloss:.3f}", val_acc=f"{vacc:.3f}")
            if vloss < best_loss - 1e-6:
                best_loss, since_best = vloss, 0
                best_state = copy.deepcopy(model.state_dict())
                history.best_epoch = epoch
            else:
                since_best += 1
                if since_best >= patience:
                    history.stopped_early = True
                    break
        else:
            history.best_epoch = epoch
            best_state = copy.deepcopy(model.state_dict())
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    model.metadata["seed"] = int(seed)
    return history
