"""The hand-wired latch network of lesson 3, whose causal set is known by construction."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["latch_network"]


def latch_network(hidden_size: int = 6, *, copies: int = 1, seed: int = 0) -> Any:
    """The hand-wired Elman RNN of lesson 3: ``copies`` latch units store a 2-class cue, the rest forget it.

    Input channels (0, 1) of the 2-class *delayed-cue* task. Each latch unit ``u < copies`` computes
    ``h_u(t) = tanh(3 h_u(t-1) + 2 (x_1(t) - x_0(t)))``: the cue at steps 1-2 pushes it to +1 (class 1) or
    -1 (class 0) and the self-connection of 3 holds it there against noise and distractors. The other units
    read a random mix of the two channels (seeded) with a self-connection of 0.4, so they follow the current
    input and forget it within a few steps. The readout reads the latches only:
    ``logits = (-5, +5) * mean(h_latches)``; with every latch at 0 both logits are 0 and ``argmax`` says
    class 0.

    Parameters
    ----------
    hidden_size : int, default 6
        Units in the layer (at least ``copies + 1``).
    copies : int, default 1
        Number of redundant latch units (units ``0 .. copies - 1``).
    seed : int, default 0
        Seed of the random input weights of the forgetting units.

    Returns
    -------
    RecurrentClassifier
        On the CPU, in eval mode; ``metadata["task"]`` is ``"delayed-cue"``.

    Examples
    --------
    >>> from relaywidgets.course.latch import latch_network
    >>> net = latch_network()
    >>> net.rnn.weight_hh_l0[0, 0].item(), net.readout.weight[:, 0].tolist()
    (3.0, [-5.0, 5.0])
    >>> latch_network(copies=2).readout.weight[:, :2].tolist()
    [[-2.5, -2.5], [2.5, 2.5]]
    """
    import torch

    from ..errors import InputError
    from ..models import RecurrentClassifier

    if isinstance(copies, bool) or not isinstance(copies, (int, np.integer)) or copies < 1:
        raise InputError(f"The 'copies' parameter of latch_network must be an int in [1, inf). Got {copies!r} instead.")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) or hidden_size <= copies:
        raise InputError(
            f"The 'hidden_size' parameter of latch_network must be an int above copies={copies} (the latches "
            f"need forgetting units beside them). Got {hidden_size!r} instead."
        )
    H, k = int(hidden_size), int(copies)
    net = RecurrentClassifier("rnn", input_size=2, hidden_size=H, num_classes=2, device="cpu")
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        w_in, w_rec = torch.zeros(H, 2), torch.zeros(H, H)
        for u in range(k):
            w_in[u] = torch.tensor([-2.0, 2.0])  # channel 1 minus channel 0: the cue's sign ...
            w_rec[u, u] = 3.0  # ... held by a strong self-connection
        w_in[k:] = torch.randn(H - k, 2, generator=torch.Generator().manual_seed(seed))  # the current input ...
        w_rec[k:, k:] = 0.4 * torch.eye(H - k)  # ... with a short memory
        net.rnn.weight_ih_l0.copy_(w_in)
        net.rnn.weight_hh_l0.copy_(w_rec)
        for u in range(k):
            net.readout.weight[:, u] = torch.tensor([-5.0, 5.0]) / k
    net.metadata["task"] = "delayed-cue"
    return net.eval()
