"""The stepping kernel: one recurrent layer (RNN, LSTM, GRU) run cell by cell, with knockout clamps between steps.

Both :class:`~relaywidgets.models.RecurrentClassifier` and the modules that :func:`relaywidgets.stepwise` puts
in place of a user's ``nn.RNN``/``nn.LSTM``/``nn.GRU`` step through this one function, so a knockout means the
same thing in both (METHOD.md, "Knockouts"): right after the cell computes ``h_t`` (and ``c_t``), the clamped
units are overwritten before they feed step ``t + 1``, the next layer and the readout.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["LayerClamp", "run_layer", "layer_clamp"]

# Size of the reused buffer for the input projection of a block of steps (see run_layer).
_PROJECTION_BYTES = 8 * 2**20


class LayerClamp(NamedTuple):
    """The part of a knockout plan that acts on one layer (see :class:`~relaywidgets.models.plan.KnockoutPlan`)."""

    mask: torch.Tensor | None
    values: torch.Tensor | None
    cell_mask: torch.Tensor | None
    cell_values: torch.Tensor | None
    active: frozenset[int]


_NO_CLAMP = LayerClamp(None, None, None, None, frozenset())


def layer_clamp(plan: object, layer: int) -> LayerClamp:
    """The clamps of ``layer`` (a key of the plan's dicts) in ``plan``, or none when ``plan`` is None."""
    if plan is None:
        return _NO_CLAMP
    return LayerClamp(
        plan.masks.get(layer),  # type: ignore[attr-defined]
        plan.values.get(layer),  # type: ignore[attr-defined]
        plan.cell_masks.get(layer),  # type: ignore[attr-defined]
        plan.cell_values.get(layer),  # type: ignore[attr-defined]
        plan.active_steps(layer),  # type: ignore[attr-defined]
    )


def run_layer(
    arch: str,
    inputs: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None,
    b_hh: torch.Tensor | None,
    h0: torch.Tensor | None,
    c0: torch.Tensor | None,
    clamp: LayerClamp = _NO_CLAMP,
    *,
    start: int = 0,
    nonlinearity: str = "tanh",
    keep_cell: bool = True,
    out_hidden: torch.Tensor | None = None,
    out_cell: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Step one layer through time-major ``inputs`` and return its time-major states.

    Parameters
    ----------
    arch : {"rnn", "lstm", "gru"}
        The cell; gate order and equations as in ``torch.nn.RNN/LSTM/GRU``.
    inputs : Tensor, shape (time, batch, feature)
        The layer's input sequence.
    w_ih, w_hh, b_ih, b_hh : Tensor
        The layer's parameters as torch stores them (``weight_ih_l0`` …); a bias may be None (``bias=False``).
    h0, c0 : Tensor of shape (batch, hidden), optional
        States before the first step (zeros when None; ``c0`` only for an LSTM).
    clamp : LayerClamp
        Masks and values of the knockout in this layer; masks are indexed by absolute step ``start + i``.
    start : int, default 0
        Absolute step of ``inputs[0]``.
    nonlinearity : {"tanh", "relu"}, default "tanh"
        The Elman RNN's nonlinearity (ignored for LSTM and GRU).
    keep_cell : bool, default True
        Return the cell states of every step; otherwise only the last (shape ``(1, batch, hidden)``).
    out_hidden, out_cell : Tensor of shape (time, batch, hidden), optional
        Buffers to write the states into (only without autograd).

    Returns
    -------
    hidden : Tensor, shape (time, batch, hidden)
    cell : Tensor of shape (time or 1, batch, hidden), or None for RNN and GRU
    """
    H = w_hh.shape[1]
    gate_size = w_ih.shape[0]
    if b_ih is None:
        b_ih = w_ih.new_zeros(gate_size)
    if b_hh is None:
        b_hh = w_ih.new_zeros(gate_size)
    tracked = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad
        for t in (w_ih, w_hh, b_ih, b_hh, inputs, h0, c0, clamp.values, clamp.cell_values)
    )
    steps, batch, n_in = inputs.shape
    h = h0 if h0 is not None else inputs.new_zeros(batch, H)
    c = None
    if arch == "lstm":
        c = c0 if c0 is not None else inputs.new_zeros(batch, H)
    mask, vals, cmask, cvals, active = clamp
    # For RNN and LSTM both biases enter the input projection, so the sequential part is a single
    # addmm per step; a GRU keeps b_hh apart because r scales its candidate share.
    bias = b_ih if arch == "gru" else b_ih + b_hh
    w_ih_t, w_hh_t = w_ih.t(), w_hh.t()
    relu = arch == "rnn" and nonlinearity == "relu"
    if tracked:
        return _run_layer_tracked(arch, inputs, bias, w_ih_t, w_hh_t, b_hh, h, c, start, clamp, relu)

    # Without autograd every step works in place in preallocated buffers. The input projection is
    # computed a block of steps at a time into one reused buffer: allocating it for the whole
    # sequence at once costs more in fresh-memory page faults than the matmul itself.
    block = max(1, min(steps, _PROJECTION_BYTES // max(1, batch * gate_size * inputs.element_size())))
    buf = inputs.new_empty(block * batch, gate_size)
    hidden = out_hidden if out_hidden is not None else inputs.new_empty(steps, batch, H)
    cell = None
    spare: list[torch.Tensor] = []
    g = rec = None
    if arch == "lstm":
        g = inputs.new_empty(batch, H)
        if keep_cell:
            cell = out_cell if out_cell is not None else inputs.new_empty(steps, batch, H)
        else:
            spare = [inputs.new_empty(batch, H), inputs.new_empty(batch, H)]
    elif arch == "gru":
        rec = inputs.new_empty(batch, gate_size)
    for b0 in range(0, steps, block):
        b1 = min(steps, b0 + block)
        proj = buf[: (b1 - b0) * batch]
        torch.addmm(bias, inputs[b0:b1].reshape(-1, n_in), w_ih_t, out=proj)
        proj = proj.view(b1 - b0, batch, gate_size)
        for j in range(b1 - b0):
            i = b0 + j
            t = start + i
            gx = proj[j]
            hi = hidden[i]
            if arch == "rnn":
                if relu:
                    torch.clamp(gx.addmm_(h, w_hh_t), min=0, out=hi)
                else:
                    _tanh(gx.addmm_(h, w_hh_t), out=hi)
            elif arch == "lstm":
                gx.addmm_(h, w_hh_t)  # columns: input, forget, cell, output gates
                gx[:, 2 * H : 3 * H].mul_(2.0)  # tanh(a) = 2 sigmoid(2a) - 1: one sigmoid for all four gates
                gx.sigmoid_()
                torch.mul(gx[:, 2 * H : 3 * H], 2.0, out=g).sub_(1.0)
                ci = cell[i] if cell is not None else spare[i % 2]
                torch.mul(gx[:, H : 2 * H], c, out=ci)
                ci.addcmul_(gx[:, :H], g)
                if cmask is not None and t in active:
                    torch.where(cmask[t], cvals[t], ci, out=ci)
                _tanh(ci, out=hi)
                hi.mul_(gx[:, 3 * H :])
                c = ci
            else:  # gru
                torch.addmm(b_hh, h, w_hh_t, out=rec)
                rz = gx[:, : 2 * H].add_(rec[:, : 2 * H]).sigmoid_()
                n = _tanh(gx[:, 2 * H :].addcmul_(rz[:, :H], rec[:, 2 * H :]))
                torch.sub(h, n, out=hi)
                hi.mul_(rz[:, H:]).add_(n)
            if mask is not None and t in active:
                torch.where(mask[t], vals[t], hi, out=hi)
            h = hi
    if arch == "lstm" and cell is None:
        cell = c.unsqueeze(0)
    return hidden, cell



def _tanh(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """tanh(x) as 2 sigmoid(2x) - 1, into ``out`` (default: in place in ``x``).

    The CPU build of torch this package pins evaluates ``tanh`` several times slower than ``sigmoid``
    (measured 6x on float32 blocks), and tanh is most of a recurrent step's element-wise work; the identity is
    exact in real arithmetic and within 2e-7 of ``torch.tanh`` in float32.
    """
    out = x if out is None else out
    torch.mul(x, 2.0, out=out)
    return out.sigmoid_().mul_(2.0).sub_(1.0)


def _run_layer_tracked(
    arch: str,
    inputs: torch.Tensor,
    bias: torch.Tensor,
    w_ih_t: torch.Tensor,
    w_hh_t: torch.Tensor,
    b_hh: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor | None,
    start: int,
    clamp: LayerClamp,
    relu: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The same steps out of place, so that autograd can differentiate through them."""
    steps, batch, n_in = inputs.shape
    H = w_hh_t.shape[0]
    mask, vals, cmask, cvals, active = clamp
    projected = torch.addmm(bias, inputs.reshape(steps * batch, n_in), w_ih_t).view(steps, batch, -1)
    hs: list[torch.Tensor] = []
    cs: list[torch.Tensor] = []
    for i in range(steps):
        t = start + i
        clamped = t in active
        if arch == "rnn":
            pre = torch.addmm(projected[i], h, w_hh_t)
            h = torch.relu(pre) if relu else torch.tanh(pre)
        elif arch == "lstm":
            gates = torch.addmm(projected[i], h, w_hh_t)
            g = torch.tanh(gates[:, 2 * H : 3 * H])
            s = torch.sigmoid(gates)
            c = torch.addcmul(s[:, H : 2 * H] * c, s[:, :H], g)
            if clamped and cmask is not None:
                c = torch.where(cmask[t], cvals[t], c)
            h = s[:, 3 * H :] * torch.tanh(c)
            cs.append(c)
        else:  # gru
            gx = projected[i]
            rec = torch.addmm(b_hh, h, w_hh_t)
            rz = torch.sigmoid(gx[:, : 2 * H] + rec[:, : 2 * H])
            n = torch.tanh(torch.addcmul(gx[:, 2 * H :], rz[:, :H], rec[:, 2 * H :]))
            h = n + rz[:, H:] * (h - n)
        if clamped and mask is not None:
            h = torch.where(mask[t], vals[t], h)
        hs.append(h)
    return torch.stack(hs), (torch.stack(cs) if arch == "lstm" else None)
