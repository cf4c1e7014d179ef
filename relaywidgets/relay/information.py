"""Relay information of one node set: I_R(R) = I(X; O | h[Z]) - I(X; O | h[N]) (METHOD.md)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputError
from ..info import joint_codes
from . import _prepare as prep
from ..info.backends import NumpyBackend
from ._counts import CountingEstimator
from ._generic import GenericTerms
from ._greedy import conditional_columns

__all__ = ["relay_information"]


def relay_information(
    rec: xr.Dataset,
    nodes: Any,
    *,
    time: int,
    concept: Any,
    estimator: Any = "plugin",
    discretizer: Any = "two-means",
    source: str = "input",
    among: Any = None,
    variable: str = "hidden",
) -> float:
    """Relay information I_R of a node set R at one time step, for one concept, in bits.

    ``I_R(R) = H(O | h_t[Z]) - H(O | h_t[N])`` with Z = N minus R (``source="input"``: the network is
    deterministic, so I(X; O | W) = H(O | W)); with ``source="label"``,
    ``I_R(R) = I(Y; O | h_t[Z]) - I(Y; O | h_t[N])``.

    Parameters
    ----------
    rec : xarray.Dataset
        A recording (docs/recording.md).
    nodes : sequence of str or int
        The node set R (labels or positions); may be empty (I_R = 0).
    time : int
        Time step (a value of the ``time`` coordinate); samples with ``length > time`` are used.
    concept : int, str
        Class index or name (output O_c = 1 when the network predicts c), or ``"all"`` (the decision).
    estimator : str or Estimator, default "plugin"
    discretizer : str or callable, default "two-means"
        Coarse-graining for discrete estimators.
    source : {"input", "label"}, default "input"
    among : sequence of str or int, optional
        The node set N (default: every node); R must lie within it.
    variable : {"hidden", "cell"}, default "hidden"
        The recording variable: the hidden state, or an LSTM's cell state.

    Returns
    -------
    float
        I_R(R) in bits; 0.0 (with a warning) when the output is constant.

    Examples
    --------
    >>> from relaywidgets.testing import planted_relay
    >>> from relaywidgets.relay import relay_information
    >>> rec, _ = planted_relay("and", n_nodes=4, n_samples=4000)
    >>> round(relay_information(rec, ["l0.h0"], time=0, concept=1), 1)  # 0.5 bit (METHOD.md)
    0.5
    """
    owner = "relay_information"
    rec = prep.check_rec(rec)
    source = prep.check_source(source, owner)
    universe = prep.resolve_nodes(rec, among, owner)
    chosen = prep.resolve_nodes(rec, [] if nodes is None else nodes, owner)
    outside = np.setdiff1d(chosen, universe)
    if outside.size:
        raise InputError(
            f"Node(s) {[str(rec['node'].values[i]) for i in outside]} are not in 'among', the node set N; "
            "R must be a subset of N."
        )
    t_pos = prep.resolve_times(rec, time, owner)
    if np.ndim(concept) != 0:
        raise InputError(f"The 'concept' parameter of {owner} takes one concept. Got {concept!r} instead.")
    (cname, cls), = prep.resolve_concepts(rec, concept, owner)
    est, fast = prep.resolve_estimator(estimator)
    hidden = prep.state_variable(rec, variable, universe, t_pos, owner)
    discrete = est.kind == "discrete"
    codes = prep.state_codes(hidden, discretizer, owner) if discrete else None
    values = None if discrete else np.asarray(hidden.values)
    t_label = int(np.asarray(rec["time"].values)[t_pos[0]])
    prep.check_padding(np.asarray(hidden.values)[:, 0, :], t_label, np.asarray(rec["length"].values))
    sl = prep.time_slice(0, t_label, np.asarray(rec["length"].values), codes, values)
    if sl.samples.size < 2:
        raise InputError(f"Time step {t_label} has fewer than 2 samples still running; choose an earlier step.")
    pred = np.asarray(rec["prediction"].values)[sl.samples]
    out, n_out = prep.output_codes(pred, cls)
    n_observed_out = np.unique(out).size
    if n_observed_out < 2:
        prep.warn_constant_outputs({cname: [t_label]}, 2)
        return 0.0
    label = None
    n_label = 0
    if source == "label":
        label, n_label = prep.dense_labels(np.asarray(rec["label"].values)[sl.samples])
    in_r = np.isin(universe, chosen)
    z_cols = np.flatnonzero(~in_r)
    all_cols = np.arange(universe.size)
    if discrete:
        prep.warn_undersampled(
            (float(sl.log2_levels.sum()), sl.samples.size, universe.size, t_label)
            if sl.log2_levels.sum() > np.log2(sl.samples.size)
            else None
        )
    if fast:
        est_c = CountingEstimator(est, NumpyBackend())
        log2_k_o = float(np.log2(n_observed_out))
        terms = []
        for cols in (z_cols, all_cols):
            if cols.size:
                g, n_g = joint_codes(sl.codes[:, cols])
                g = np.asarray(g)
            else:
                g, n_g = np.zeros(sl.samples.size, np.int64), 1
            terms.append(
                conditional_columns(
                    est_c,
                    g[:, None],
                    n_g,
                    out,
                    n_out,
                    label=label,
                    n_label=n_label,
                    log2_cells=np.array([sl.log2_levels[cols].sum()]) if est_c.needs_alphabet else None,
                    log2_k_o=log2_k_o,
                )[0]
            )
        return float(terms[0] - terms[1])
    data = sl.codes.astype(np.int64) if discrete else sl.values
    gt = GenericTerms(est, data, label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(gt.term(out, z_cols) - gt.term(out, all_cols))
