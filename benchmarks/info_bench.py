"""Benchmark relaywidgets.info against peer libraries on the same data: accuracy and speed.

Peers: scikit-learn ``mutual_info_regression`` / ``mutual_info_classif`` (k-NN, Kraskov / Ross),
frites' Gaussian-copula functions (``gcmi_1d_cc``, ``gcmi_model_1d_cd``, ``gccmi_1d_ccc``), and
``dit`` for discrete information. Accuracy is the error against a truth (analytic for Gaussians,
numerical integration for a Gaussian mixture, the exact information of the generating distribution
for discrete data); speed is the median time of one call, every contender timed in turn in the same
loop (side by side), and reported as a ratio to ours.

Run::

    python benchmarks/info_bench.py            # full run, prints a markdown table
    python benchmarks/info_bench.py --quick    # fewer replicates and repeats
    python benchmarks/info_bench.py --markdown out.md
    python benchmarks/info_bench.py --cmi64    # only the 64-node discrete CMI timing
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

import relaywidgets.info as rinfo
from relaywidgets.info import UndersamplingWarning

LN2 = np.log(2.0)


@dataclass
class Row:
    task: str
    method: str
    truth: float
    errors: list[float]
    seconds: float
    reference: str  # the method whose time is the ratio's denominator ("ours")
    ref_seconds: float
    note: str = ""

    @property
    def mean_abs_error(self) -> float:
        return float(np.mean(np.abs(self.errors))) if self.errors else float("nan")

    @property
    def bias(self) -> float:
        return float(np.mean(self.errors)) if self.errors else float("nan")


def side_by_side(
    fns: dict[str, Callable[[], float]], repeat: int, best: dict[str, float] | None = None
) -> dict[str, float]:
    """Median seconds per call of each function, timed in turn in one loop after a warm-up.

    When ``best`` is given it receives the fastest call of each function (the least disturbed by
    other processes on a shared machine).
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    if best is not None:
        best.update({name: float(np.min(t)) for name, t in times.items()})
    return {name: float(np.median(t)) for name, t in times.items()}


def _load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        return "n/a"


def _peer_sklearn():
    try:
        from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
    except ImportError:  # pragma: no cover
        return None
    return mutual_info_regression, mutual_info_classif


def _peer_frites():
    try:
        from frites.core import gccmi_1d_ccc, gcmi_1d_cc, gcmi_model_1d_cd
    except Exception:  # pragma: no cover - frites is optional
        return None
    return gcmi_1d_cc, gcmi_model_1d_cd, gccmi_1d_ccc


def _peer_dit():
    try:
        import dit
    except ImportError:  # pragma: no cover
        return None
    return dit


# ----------------------------------------------------------------------------- continuous tasks
def gaussian_pair(rng, rho, n):
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)


def mixture_truth(mu: float) -> float:
    def f(x):
        p = 0.5 * stats.norm.pdf(x, -mu) + 0.5 * stats.norm.pdf(x, mu)
        return -p * np.log2(p)

    hx, _ = integrate.quad(f, -mu - 12, mu + 12, limit=200)
    return hx - 0.5 * np.log2(2 * np.pi * np.e)


def bench_continuous(replicates: int, repeat: int, n: int) -> list[Row]:
    rows: list[Row] = []
    skl = _peer_sklearn()
    fr = _peer_frites()

    def run(task, truth, make, contenders, ours_of):
        """contenders: name -> f(data) ; ours_of: name -> name of our method to take ratios against."""
        errors = {name: [] for name in contenders}
        for r in range(replicates):
            data = make(np.random.default_rng(1000 + r))
            for name, f in contenders.items():
                errors[name].append(f(*data) - truth)
        data = make(np.random.default_rng(1000))
        secs = side_by_side({name: (lambda f=f: f(*data)) for name, f in contenders.items()}, repeat)
        for name in contenders:
            ref = ours_of[name]
            rows.append(Row(task, name, truth, errors[name], secs[name], ref, secs[ref]))

    ksg = rinfo.get_estimator("ksg", k=3)
    gcmi = rinfo.get_estimator("gcmi")

    # 1. bivariate Gaussian
    rho = 0.6
    contenders = {"relaywidgets gcmi": lambda x, y: gcmi.mutual_information(x, y)}
    ours_of = {"relaywidgets gcmi": "relaywidgets gcmi"}
    if fr:
        contenders["frites gcmi_1d_cc"] = lambda x, y: float(fr[0](x, y))
        ours_of["frites gcmi_1d_cc"] = "relaywidgets gcmi"
    contenders["relaywidgets ksg (k=3)"] = lambda x, y: ksg.mutual_information(x, y)
    ours_of["relaywidgets ksg (k=3)"] = "relaywidgets ksg (k=3)"
    if skl:
        contenders["sklearn mutual_info_regression (k=3)"] = lambda x, y: float(
            skl[0](x[:, None], y, n_neighbors=3, random_state=0)[0] / LN2
        )
        ours_of["sklearn mutual_info_regression (k=3)"] = "relaywidgets ksg (k=3)"
    run(
        f"MI, Gaussian pair rho={rho}, N={n:,}",
        -0.5 * np.log2(1 - rho**2),
        lambda rng: gaussian_pair(rng, rho, n),
        contenders,
        ours_of,
    )

    # 2. 3-D vs 3-D Gaussian (sklearn's functions only score one feature at a time: no peer)
    cov = np.eye(6)
    for i, j, c in [(0, 3, 0.5), (1, 4, 0.4), (2, 5, 0.3), (0, 1, 0.2), (3, 4, 0.2)]:
        cov[i, j] = cov[j, i] = c
    truth = 0.5 * np.log2(np.linalg.det(cov[:3, :3]) * np.linalg.det(cov[3:, 3:]) / np.linalg.det(cov))

    def make_mv(rng):
        s = rng.multivariate_normal(np.zeros(6), cov, n)
        return s[:, :3], s[:, 3:]

    contenders = {"relaywidgets gcmi": lambda x, y: gcmi.mutual_information(x, y)}
    ours_of = {"relaywidgets gcmi": "relaywidgets gcmi"}
    if fr:
        contenders["frites gcmi_1d_cc"] = lambda x, y: float(fr[0](x.T, y.T))
        ours_of["frites gcmi_1d_cc"] = "relaywidgets gcmi"
    contenders["relaywidgets ksg (k=3)"] = lambda x, y: ksg.mutual_information(x, y)
    ours_of["relaywidgets ksg (k=3)"] = "relaywidgets ksg (k=3)"
    run(f"MI, 3-D vs 3-D Gaussian, N={n:,}", truth, make_mv, contenders, ours_of)

    # 3. continuous vs binary class (Gaussian mixture +-1)
    mu = 1.0

    def make_cd(rng):
        y = rng.integers(0, 2, n)
        return np.where(y == 1, mu, -mu) + rng.standard_normal(n), y

    contenders = {"relaywidgets gcmi": lambda x, y: gcmi.mutual_information(x, y)}
    ours_of = {"relaywidgets gcmi": "relaywidgets gcmi"}
    if fr:
        contenders["frites gcmi_model_1d_cd"] = lambda x, y: float(fr[1](x, y))
        ours_of["frites gcmi_model_1d_cd"] = "relaywidgets gcmi"
    contenders["relaywidgets ksg (k=3)"] = lambda x, y: ksg.mutual_information(x, y)
    ours_of["relaywidgets ksg (k=3)"] = "relaywidgets ksg (k=3)"
    if skl:
        contenders["sklearn mutual_info_classif (k=3)"] = lambda x, y: float(
            skl[1](x[:, None], y, discrete_features=False, n_neighbors=3, random_state=0)[0] / LN2
        )
        ours_of["sklearn mutual_info_classif (k=3)"] = "relaywidgets ksg (k=3)"
    run(f"MI, continuous vs class (mixture mu=+-1), N={n:,}", mixture_truth(mu), make_cd, contenders, ours_of)

    # 4. CMI of a Gaussian chain x -> y with common cause z
    def make_ccc(rng):
        z = rng.standard_normal(n)
        x = 0.6 * z + 0.8 * rng.standard_normal(n)
        y = 0.5 * z + 0.5 * x + 0.7 * rng.standard_normal(n)
        return x, y, z

    vx, cxz, cyz, cxy, vy = 1.0, 0.6, 0.8, 0.8, 1.29
    r = (cxy - cxz * cyz) / np.sqrt((vx - cxz**2) * (vy - cyz**2))
    contenders = {"relaywidgets gcmi": lambda x, y, z: gcmi.conditional_mutual_information(x, y, z)}
    ours_of = {"relaywidgets gcmi": "relaywidgets gcmi"}
    if fr:
        contenders["frites gccmi_1d_ccc"] = lambda x, y, z: float(fr[2](x, y, z))
        ours_of["frites gccmi_1d_ccc"] = "relaywidgets gcmi"
    contenders["relaywidgets ksg (k=3)"] = lambda x, y, z: ksg.conditional_mutual_information(x, y, z)
    ours_of["relaywidgets ksg (k=3)"] = "relaywidgets ksg (k=3)"
    run(f"CMI, Gaussian x,y given z, N={n:,}", -0.5 * np.log2(1 - r**2), make_ccc, contenders, ours_of)
    return rows


# ----------------------------------------------------------------------------- discrete tasks
def _h(p):
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def bench_discrete(replicates: int, repeat: int, n: int) -> list[Row]:
    rows: list[Row] = []
    dit = _peer_dit()
    k = 4
    p = np.random.default_rng(7).dirichlet(np.full(k**3, 0.7)).reshape(k, k, k)  # (a, b, c)
    truth = _h(p.sum(1).ravel()) + _h(p.sum(0).ravel()) - _h(p.ravel()) - _h(p.sum((0, 1)))

    def make(rng):
        flat = rng.choice(k**3, size=n, p=p.ravel())
        a, rest = np.divmod(flat, k * k)
        b, c = np.divmod(rest, k)
        return a, b, c

    def dit_cmi(a, b, c):
        rows_, counts = np.unique(np.column_stack([a, b, c]), axis=0, return_counts=True)
        d = dit.Distribution([tuple(int(v) for v in r) for r in rows_], (counts / counts.sum()).tolist())
        return float(dit.multivariate.coinformation(d, [[0], [1]], [2]))

    contenders = {
        f"relaywidgets {e}": (lambda a, b, c, e=e: rinfo.conditional_mutual_information(a, b, c, estimator=e))
        for e in ("plugin", "miller-madow", "shrinkage")
    }
    if dit:
        contenders["dit (empirical distribution)"] = dit_cmi
    errors = {name: [] for name in contenders}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndersamplingWarning)
        for r in range(replicates):
            data = make(np.random.default_rng(2000 + r))
            for name, f in contenders.items():
                errors[name].append(f(*data) - truth)
        data = make(np.random.default_rng(2000))
        secs = side_by_side({name: (lambda f=f: f(*data)) for name, f in contenders.items()}, repeat)
    task = f"CMI, discrete 4x4x4 states, N={n:,}"
    for name in contenders:
        ours = "relaywidgets plugin"
        rows.append(Row(task, name, truth, errors[name], secs[name], ours, secs[ours]))
    return rows


def bench_cmi_64(repeat: int, n: int = 10_000) -> tuple[list[Row], dict[str, float], dict[str, float]]:
    """Discrete CMI I(A; O | C): A, C 64 binary nodes each, O a binary target."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2, (n, 64), dtype=np.int8)
    c = rng.integers(0, 2, (n, 64), dtype=np.int8)
    # O = a0 XOR c0: the true CMI is 1 bit, but every sample has its own joint state of C, so the
    # plug-in H(O | C) and with it the CMI estimate is 0 bits (the worst case for counting speed,
    # and the undersampling this library warns about).
    o = (a[:, 0] ^ c[:, 0]).astype(np.int8)

    def reference():
        # The plug-in estimate as usually written: joint states by np.unique over rows.
        def h(*cols):
            m = np.column_stack(cols)
            _, counts = np.unique(m, axis=0, return_counts=True)
            q = counts / n
            return float(-(q * np.log2(q)).sum())

        return h(a, c) + h(o, c) - h(a, o, c) - h(c)

    plugin = rinfo.get_estimator("plugin", min_samples_per_state=0)
    contenders = {
        "relaywidgets plugin (numpy)": lambda: plugin.conditional_mutual_information(a, o, c),
        "plug-in via np.unique(axis=0) (reference)": reference,
    }
    try:
        import torch  # noqa: F401

        contenders["relaywidgets plugin (torch, cpu)"] = lambda: plugin.conditional_mutual_information(
            a, o, c, backend="torch", device="cpu"
        )
    except ImportError:  # pragma: no cover
        pass
    values = {name: f() for name, f in contenders.items()}
    best: dict[str, float] = {}
    secs = side_by_side(contenders, repeat, best)
    ours = "relaywidgets plugin (numpy)"
    rows = [
        Row(
            f"CMI, 64 binary nodes vs binary target given 64 nodes, N={n:,}",
            name,
            float("nan"),
            [],
            secs[name],
            ours,
            secs[ours],
            note=f"value {values[name]:.6f} bits, best call {best[name] * 1e3:.2f} ms",
        )
        for name in contenders
    ]
    return rows, values, best


# ----------------------------------------------------------------------------- report
def to_markdown(rows: list[Row]) -> str:
    lines = [
        "| task | method | truth (bits) | mean abs error | mean error (bias) | time per call | time / ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        truth = "—" if np.isnan(r.truth) else f"{r.truth:.4f}"
        mae = "—" if not r.errors else f"{r.mean_abs_error:.4f}"
        bias = "—" if not r.errors else f"{r.bias:+.4f}"
        t = f"{r.seconds * 1e3:.2f} ms"
        ratio = "1 (ours)" if r.method == r.reference else f"{r.seconds / r.ref_seconds:.2f}"
        method = r.method + (f" ({r.note})" if r.note else "")
        lines.append(f"| {r.task} | {method} | {truth} | {mae} | {bias} | {t} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer replicates and repeats")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--cmi64", action="store_true", help="only the 64-node discrete CMI, 200 timed calls")
    args = ap.parse_args(argv)
    replicates, repeat = (3, 5) if args.quick else (10, 15)
    if args.cmi64:
        rows, values, best = bench_cmi_64(200)
        print(f"load average {_load()}")
        print(to_markdown(rows))
        return 0

    header = (
        f"relaywidgets.info benchmark — {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} logical CPUs visible, load average {_load()}; "
        f"{replicates} replicates for accuracy, median of {repeat} timed calls"
    )
    rows = bench_continuous(replicates, repeat, 10_000)
    rows += bench_discrete(replicates, repeat, 5_000)
    cmi_rows, values, best = bench_cmi_64(max(repeat, 30))
    rows += cmi_rows
    spread = max(values.values()) - min(values.values())
    table = to_markdown(rows)
    ours64 = next(r for r in cmi_rows if r.method == r.reference)
    ref64 = next(r for r in cmi_rows if "reference" in r.method)
    summary = (
        f"64-node discrete CMI: {ours64.seconds * 1e3:.2f} ms per call (median; best "
        f"{best[ours64.method] * 1e3:.2f} ms; target < 5 ms); "
        f"the np.unique reference takes {ref64.seconds * 1e3:.1f} ms ({ref64.seconds / ours64.seconds:.0f}x); "
        f"all implementations agree to {spread:.1e} bits."
    )
    peers = []
    for label, probe in [("scikit-learn", _peer_sklearn), ("frites", _peer_frites), ("dit", _peer_dit)]:
        peers.append(f"{label}: {'available' if probe() else 'NOT available (rows skipped)'}")
    text = "\n\n".join([header, "; ".join(peers), table, summary])
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
