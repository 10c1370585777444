"""One epoch of a 784-256-10 sigmoid MLP as a user trains it: nnbasics vs PyTorch vs scikit-learn.

All peers run in this one process on the same random data (60,000 rows of 784 float32 features,
10 classes), batch 128, plain SGD (no momentum, no L2), learning rate 0.1, one pass in a random
order, each timed from its user-facing call:

* ``nnbasics``: ``MLPClassifier(..., max_iter=1).fit(X, y)`` (the default fast engine; input
  checks, label encoding and the epoch's bookkeeping included);
* ``torch``: the same work written in PyTorch as its tutorials do: tensors from the arrays,
  ``nn.Sequential(Linear, Sigmoid, Linear)``, ``CrossEntropyLoss``, ``optim.SGD``, one pass over
  ``randperm`` batches (``torch.set_num_threads`` left at its default);
* ``sklearn``: ``MLPClassifier(solver="sgd", momentum=0, max_iter=1, ...).fit(X, y)``;
* ``GEMM floor`` (information, no target): only the two large matrix products of each step,
  ``X_b @ W1`` and ``X_b.T @ dZ1``, over the epoch's 469 batches, in NumPy.

Each peer is timed ``--repeats`` times (default 5, round-robin) and the best time is kept.
Prints samples/s and the ratios the issue targets: nnbasics >= 1.2x torch's and >= 1.5x
scikit-learn's samples/s; exits with status 1 when a target is missed.

Run: ``python benchmarks/mlp_speed.py [--repeats 3] [--no-sklearn] [--no-torch]
[--products auto|scipy|numpy]`` (``--products``: where nnbasics' step takes its products, for an
A/B of the mechanism; ``auto`` is what a user gets, see :mod:`nnbasics._accel.blas`).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

N_ROWS, N_FEATURES, N_HIDDEN, N_CLASSES = 60_000, 784, 256, 10
BATCH, LR = 128, 0.1


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((N_ROWS, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, N_ROWS)
    return X, y


def _settings() -> dict:
    return dict(hidden_layer_sizes=(N_HIDDEN,), solver="sgd", momentum=0.0, alpha=0.0,
                learning_rate_init=LR, batch_size=BATCH, max_iter=1, shuffle=True,
                random_state=1)


def time_nnbasics(X, y) -> float:
    from nnbasics import MLPClassifier

    start = time.perf_counter()
    MLPClassifier(activation="sigmoid", dtype="float32", **_settings()).fit(X, y)
    return time.perf_counter() - start


def time_torch(X, y) -> float:
    import torch

    start = time.perf_counter()
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, N_HIDDEN),
        torch.nn.Sigmoid(),
        torch.nn.Linear(N_HIDDEN, N_CLASSES),
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    order = torch.randperm(N_ROWS)
    for s in range(0, N_ROWS, BATCH):
        idx = order[s : s + BATCH]
        xb, yb = Xt[idx], yt[idx]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def time_sklearn(X, y) -> float:
    from sklearn.neural_network import MLPClassifier

    start = time.perf_counter()
    MLPClassifier(activation="logistic", **_settings()).fit(X, y)
    return time.perf_counter() - start


def time_gemm_floor(X) -> float:
    rng = np.random.default_rng(2)
    W1 = rng.random((N_FEATURES, N_HIDDEN), dtype=np.float32)
    Z1 = np.empty((BATCH, N_HIDDEN), dtype=np.float32)
    dZ1 = rng.random((BATCH, N_HIDDEN), dtype=np.float32)
    dW1 = np.empty_like(W1)
    order = rng.permutation(N_ROWS)
    batches = [np.ascontiguousarray(X[order[s : s + BATCH]]) for s in range(0, N_ROWS, BATCH)]
    start = time.perf_counter()
    for xb in batches:
        n = xb.shape[0]
        np.matmul(xb, W1, out=Z1[:n])
        np.matmul(xb.T, dZ1[:n], out=dW1)
    return time.perf_counter() - start


def blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    pools = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} "
             f"({p.get('num_threads')} threads)" for p in threadpool_info()
             if p.get("user_api") == "blas"]
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    return "; ".join(pools) + (f"; OPENBLAS_CORETYPE={coretype}" if coretype else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--products", choices=["auto", "scipy", "numpy"], default="auto",
                        help="nnbasics' products: SciPy's gemm with the update inside it, NumPy's "
                             "matmul with the update as a second pass, or the default choice")
    args = parser.parse_args()
    # max_iter=1: scikit-learn warns that one epoch did not converge (ConvergenceWarning)
    warnings.simplefilter("ignore", UserWarning)

    from nnbasics._accel import blas

    if args.products != "auto":
        # the switch gemm_unchecked reads
        blas.shares_numpys_blas = lambda: args.products == "scipy"
    blas.gemm_unchecked.cache_clear()
    X, y = make_data()
    peers = {"nnbasics": lambda: time_nnbasics(X, y), "GEMM floor": lambda: time_gemm_floor(X)}
    if not args.no_torch:
        try:
            import torch

            peers["torch"] = lambda: time_torch(X, y)
            torch_info = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        except ImportError:
            torch_info = "torch not installed"
    if not args.no_sklearn:
        peers["sklearn"] = lambda: time_sklearn(X, y)
    # Round-robin over the peers, keeping each one's best time: a burst of load from another
    # process then hurts one repeat of every peer rather than all repeats of one peer.
    best = dict.fromkeys(peers, float("inf"))
    for _ in range(args.repeats):
        for name, fn in peers.items():
            best[name] = min(best[name], fn())

    import sklearn

    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; python "
          f"{platform.python_version()}; numpy {np.__version__}; sklearn {sklearn.__version__}; "
          f"{torch_info if not args.no_torch else 'torch skipped'}")
    numpy_products = blas.gemm_unchecked(np.float32) is blas.numpy_gemm
    print(f"blas: {blas_description()}; nnbasics' products: "
          f"{'NumPy matmul' if numpy_products else 'SciPy gemm'} ({args.products})")
    print(f"one epoch of fit: {N_ROWS} rows x {N_FEATURES}, hidden {N_HIDDEN} sigmoid, {N_CLASSES} "
          f"classes, batch {BATCH}, SGD lr {LR}, best of {args.repeats}")
    print(f"{'peer':<12} {'seconds':>8} {'samples/s':>11}")
    for name, seconds in best.items():
        print(f"{name:<12} {seconds:8.3f} {N_ROWS / seconds:11,.0f}")
    ours = best["nnbasics"]
    missed = []

    def report(label: str, value: float, target: float, at_least: bool) -> None:
        ok = value >= target if at_least else value <= target
        sign = ">=" if at_least else "<="
        print(f"{label:<28} {value:5.2f}x  (target {sign} {target}x){'' if ok else '  MISSED'}")
        if not ok:
            missed.append(label)

    if "torch" in best:
        report("nnbasics / torch speed:", best["torch"] / ours, 1.2, at_least=True)
    if "sklearn" in best:
        report("nnbasics / sklearn speed:", best["sklearn"] / ours, 1.5, at_least=True)
    print(f"{'nnbasics time / GEMM floor:':<28} {ours / best['GEMM floor']:5.2f}x  (no target)")
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    if missed:
        print("targets missed: " + ", ".join(m.rstrip(":") for m in missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
