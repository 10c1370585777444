"""The training loop: sampling, determinism, history, stopping, checkpoints, kill-and-resume."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from nnbasics._accel import blas as _blas
from nnbasics.mlp.model import Workspace, init_parameters
from nnbasics.mlp.optimizers import SGD, Adam
from nnbasics.mlp.training import (
    LoopConfig,
    TrainingState,
    latest_checkpoints,
    load_latest_checkpoint,
    run_epochs,
    save_checkpoint,
    sgd_epoch,
)


def _data(seed=0, n=120, d=5, k=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (np.argmax(X[:, :k], axis=1)).astype(np.int64)
    return X, y


def _state(seed=0, sizes=(5, 8, 3), solver="adam"):
    rng = np.random.default_rng(seed)
    weights, biases = init_parameters(sizes, "xavier", rng, np.float32)
    params = [*weights, *biases]
    optimizer = {
        "adam": lambda: Adam(params, 0.01),
        "sgd": lambda: SGD(params, 0.1, momentum=0.9),
        # plain SGD with a decay schedule: the fused update path, its step count in the file
        "sgd-plain": lambda: SGD(params, 0.1, decay_every=5, decay_factor=0.5),
    }[solver]()
    return TrainingState(weights, biases, optimizer, rng)


CONFIG = LoopConfig(activation="tanh", batch_size=16, max_epochs=6, n_iter_no_change=100)


def test_each_epoch_uses_every_row_once():
    # rows tagged by their index in column 0: the optimiser, called once per batch, records
    # what the gather put in the workspace
    X, y = _data()
    X[:, 0] = np.arange(len(X))
    rng = np.random.default_rng(3)
    weights, biases = init_parameters((5, 4, 3), "xavier", rng, np.float32)
    ws = Workspace((5, 4, 3), 16, np.float32)
    probe = np.random.default_rng()
    probe.bit_generator.state = rng.bit_generator.state
    order = probe.permutation(len(X))  # the order the epoch must walk
    seen, batch_sizes = [], []

    class Recorder(SGD):
        def step(self, params, grads):
            m = min(16, len(X) - len(seen))
            batch = (ws.inputs, ws.spare_inputs)[len(batch_sizes) % 2]  # the buffers in turn
            rows = batch[:m, 0].astype(np.int64)
            np.testing.assert_array_equal(batch[:m], X[rows])  # whole rows
            labels = (ws.targets, ws.spare_targets)[len(batch_sizes) % 2]
            np.testing.assert_array_equal(labels[:m], y[rows])  # with their labels
            seen.extend(rows.tolist())
            batch_sizes.append(m)
            super().step(params, grads)

    # (with momentum: the loop calls step, where the recorder looks)
    sgd_epoch(X, y, weights, biases, "relu", Recorder([*weights, *biases], 0.1, momentum=0.5), ws,
              rng)
    assert seen == order.tolist()
    assert sorted(seen) == list(range(len(y)))
    assert batch_sizes == [16] * 7 + [8]


@pytest.mark.parametrize("layout", ["fortran X", "int32 labels", "uint8 labels"])
def test_other_layouts_of_the_data_train_the_same(layout):
    X, y = _data(n=90)
    X_other, y_other = {"fortran X": (np.asfortranarray(X), y),
                        "int32 labels": (X, y.astype(np.int32)),
                        "uint8 labels": (X, y.astype(np.uint8))}[layout]
    results = []
    for data in ((X, y), (X_other, y_other)):
        state = _state(7, solver="sgd-plain")
        ws = Workspace((5, 8, 3), 16, np.float32)
        loss = sgd_epoch(*data, state.weights, state.biases, "sigmoid", state.optimizer, ws,
                         state.rng)
        results.append((loss, ws.n_correct[0], [*state.weights, *state.biases]))
    assert results[0][:2] == results[1][:2]
    for a, b in zip(results[0][2], results[1][2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_two_threads_training_at_once_get_what_each_gets_alone():
    # the compiled products and kernels release the GIL: two loops run at once, each on its own
    # workspace, and neither changes the other's bits
    rng = np.random.default_rng(0)
    X = rng.random((2000, 96), dtype=np.float32)
    y = rng.integers(0, 10, 2000)
    sizes = (96, 160, 10)

    def train(seed, results):
        rng = np.random.default_rng(seed)
        weights, biases = init_parameters(sizes, "xavier", rng, np.float32)
        optimizer = SGD([*weights, *biases], 0.1)
        ws = Workspace(sizes, 128, np.float32)
        for _ in range(2):
            sgd_epoch(X, y, weights, biases, "sigmoid", optimizer, ws, rng)
        results[seed] = [*weights, *biases]

    alone, together = {}, {}
    for seed in (1, 2):
        train(seed, alone)
    threads = [threading.Thread(target=train, args=(seed, together)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    for seed in (1, 2):
        for a, b in zip(alone[seed], together[seed], strict=True):
            np.testing.assert_array_equal(a, b)


def test_same_seed_same_parameters_and_history():
    X, y = _data()
    a, b = _state(5), _state(5)
    run_epochs(a, X, y, CONFIG, validation=(X[:30], y[:30]))
    run_epochs(b, X, y, CONFIG, validation=(X[:30], y[:30]))
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_equal(a.history.to_dict(), b.history.to_dict())
    assert len(a.history) == 6 and a.epoch == 6
    assert a.history.train_loss[-1] < a.history.train_loss[0]
    assert a.history.val_accuracy[-1] > 0.6


def test_stopping_on_training_loss_plateau():
    X, y = _data()
    state = _state(1)
    config = LoopConfig(activation="relu", batch_size=16, max_epochs=500, tol=1e9,
                        n_iter_no_change=3)
    run_epochs(state, X, y, config)
    # after the first, no epoch beats the best by 1e9: scikit-learn stops when *more than*
    # n_iter_no_change = 3 epochs in a row were bad, after epoch 5
    assert state.stopped and state.epoch == 5 and state.n_bad_epochs == 4


def test_early_stopping_restores_best_parameters():
    X, y = _data()
    state = _state(2)
    config = LoopConfig(activation="relu", batch_size=16, max_epochs=40, tol=0.0,
                        n_iter_no_change=3, early_stopping=True)
    run_epochs(state, X, y, config, validation=(X[:40], y[:40]))
    best = int(np.argmax(state.history.val_accuracy))
    assert state.epoch >= best + 1
    from nnbasics.mlp.training import evaluate

    _, acc = evaluate(X[:40], y[:40], state.weights, state.biases, "relu")
    assert acc == pytest.approx(max(state.history.val_accuracy))


def test_divergence_is_reported():
    X, y = _data()
    state = _state(0, solver="sgd")
    state.optimizer.learning_rate_init = 1e30
    config = LoopConfig(activation="relu", batch_size=16, max_epochs=5)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="diverged at epoch 1"):
        run_epochs(state, X, y, config)


@pytest.mark.parametrize("solver", ["adam", "sgd", "sgd-plain"])
def test_checkpoint_resume_in_process_is_bit_identical(tmp_path, solver):
    X, y = _data()
    full = _state(7, solver=solver)
    run_epochs(full, X, y, CONFIG, checkpoint_dir=tmp_path / "a", fingerprint={"x": 1})
    part = _state(7, solver=solver)
    run_epochs(part, X, y, CONFIG, checkpoint_dir=tmp_path / "b", fingerprint={"x": 1}, n_epochs=2)
    resumed = _state(99, solver=solver)  # different init: everything must come from the file
    used = load_latest_checkpoint(resumed, tmp_path / "b", {"x": 1})
    assert used.name == "epoch-000002.npz" and resumed.epoch == 2
    run_epochs(resumed, X, y, CONFIG, checkpoint_dir=tmp_path / "b", fingerprint={"x": 1})
    for a, b in zip(full.weights + full.biases, resumed.weights + resumed.biases, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_equal(full.history.to_dict(), resumed.history.to_dict())  # NaN == NaN
    assert [p.name for p in latest_checkpoints(tmp_path / "a")] == [
        "epoch-000006.npz", "epoch-000005.npz"]  # only the two newest are kept


def test_corrupt_newest_checkpoint_falls_back_to_previous(tmp_path):
    X, y = _data()
    state = _state(1)
    run_epochs(state, X, y, CONFIG, checkpoint_dir=tmp_path, fingerprint={}, n_epochs=3)
    newest = latest_checkpoints(tmp_path)[0]
    newest.write_bytes(newest.read_bytes()[:100])
    fresh = _state(1)
    used = load_latest_checkpoint(fresh, tmp_path, {})
    assert used.name == "epoch-000002.npz" and fresh.epoch == 2


def test_resume_refuses_other_settings(tmp_path):
    state = _state(1)
    save_checkpoint(state, tmp_path, {"lr": 0.1, "data": "abc"})
    with pytest.raises(ValueError, match="different lr"):
        load_latest_checkpoint(_state(1), tmp_path, {"lr": 0.2, "data": "abc"})
    assert load_latest_checkpoint(_state(1), tmp_path / "empty", {}) is None


# ----------------------------------------------------------------------------------------------
# a real process killed with SIGKILL, then resumed
# ----------------------------------------------------------------------------------------------

KILL_SCRIPT = textwrap.dedent(
    """
    import io, json, os, sys, time
    import numpy as np
    import nnbasics.mlp.training as training

    # Fault injection (test only): PAUSE="write:E" stops half-way through writing the bytes of
    # epoch E's checkpoint (a torn temporary file on disk), PAUSE="prune:E" just after its
    # rename, before older checkpoints are pruned; MARKER tells the test the moment has come.
    pause, marker = os.environ.get("PAUSE"), os.environ.get("MARKER")
    if pause:
        where, at_epoch = pause.split(":")

        def hold():
            open(marker, "w").close()
            time.sleep(600)

        if where == "write":
            real_savez = np.savez

            def torn_savez(fh, **arrays):
                meta = json.loads(str(arrays["__metadata__"][()]))
                if meta.get("kind") == "checkpoint" and meta["epoch"] == int(at_epoch):
                    buf = io.BytesIO()
                    real_savez(buf, **arrays)
                    fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                    fh.flush()
                    hold()
                return real_savez(fh, **arrays)

            np.savez = torn_savez
        else:
            real_save = training.save_arrays

            def save_then_hold(path, arrays, metadata, kind, version=1):
                out = real_save(path, arrays, metadata, kind, version)
                if metadata["epoch"] == int(at_epoch):
                    hold()
                return out

            training.save_arrays = save_then_hold

    from nnbasics.mlp.estimator import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1500, 12)).astype(np.float32)
    y = np.argmax(X[:, :3], axis=1) + 3 * (X[:, 3] > 0)
    model = MLPClassifier(hidden_layer_sizes=(8, 6), activation="tanh", solver="adam",
                          batch_size=8, max_iter=40, random_state=0, n_iter_no_change=1000,
                          checkpoint_dir=sys.argv[1], resume=True)
    model.fit(X, y)
    arrays = {f"p{i}": a for i, a in enumerate(model.coefs_ + model.intercepts_)}
    np.savez(sys.argv[2], n_iter=model.n_iter_, **arrays)
    """
)


class _Runner:
    """Launches the training script above in subprocesses (one BLAS thread: reproducible)."""

    def __init__(self, tmp_path):
        self.script = tmp_path / "kill_train.py"
        self.script.write_text(KILL_SCRIPT)
        self.tmp_path = tmp_path
        self.env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.env.pop("PAUSE", None)

    def launch(self, checkpoint_dir, out, **env):
        return subprocess.Popen([sys.executable, str(self.script), str(checkpoint_dir), str(out)],
                                env={**self.env, **env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    @staticmethod
    def finish(proc):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()

    @staticmethod
    def kill(proc):
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

    @staticmethod
    def assert_same_parameters(reference, got):
        with np.load(reference) as ref, np.load(got) as out:
            assert int(ref["n_iter"]) == int(out["n_iter"]) == 40
            for name in ref.files:
                np.testing.assert_array_equal(out[name], ref[name], err_msg=name)
                assert out[name].tobytes() == ref[name].tobytes()  # bit for bit (also -0.0, NaN)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Parameters of the run that nobody kills."""
    tmp_path = tmp_path_factory.mktemp("reference")
    runner = _Runner(tmp_path)
    runner.finish(runner.launch(tmp_path / "ckpt", tmp_path / "ref.npz"))
    return tmp_path / "ref.npz"


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path, uninterrupted):
    runner = _Runner(tmp_path)
    killed_dir = tmp_path / "killed"
    chooser = random.Random(1234)
    epochs_at_kill = []
    for _ in range(4):
        proc = runner.launch(killed_dir, tmp_path / "killed.npz")
        # let the process get into training (a new checkpoint appears), then kill it at a random
        # moment: mid-epoch, mid-checkpoint-write, or between the two
        before = latest_checkpoints(killed_dir)[:1]
        deadline = time.monotonic() + 60
        while (latest_checkpoints(killed_dir)[:1] == before and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.005)
        time.sleep(chooser.uniform(0.0, 0.2))
        assert proc.poll() is None, "the run finished before it could be killed"
        runner.kill(proc)
        newest = latest_checkpoints(killed_dir)
        epochs_at_kill.append(newest[0].name if newest else None)
    runner.finish(runner.launch(killed_dir, tmp_path / "killed.npz"))
    assert len(set(epochs_at_kill)) == 4, f"kills did not land in distinct epochs: {epochs_at_kill}"
    runner.assert_same_parameters(uninterrupted, tmp_path / "killed.npz")


@pytest.mark.parametrize("where", ["write", "prune"])
def test_sigkill_mid_checkpoint_write_then_resume_is_bit_identical(tmp_path, uninterrupted, where):
    """Killed while epoch 3's checkpoint is half written (or just renamed, before pruning)."""
    runner = _Runner(tmp_path)
    killed_dir = tmp_path / "killed"
    marker = tmp_path / "marker"
    proc = runner.launch(killed_dir, tmp_path / "killed.npz", PAUSE=f"{where}:3",
                         MARKER=str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert marker.exists(), proc.stderr.read().decode() if proc.poll() is not None else "timeout"
    runner.kill(proc)
    names = sorted(p.name for p in killed_dir.iterdir())
    if where == "write":
        # a torn temporary file is on disk; the newest complete checkpoint is epoch 2's
        assert [n for n in names if n.endswith(".tmp")], names
        assert latest_checkpoints(killed_dir)[0].name == "epoch-000002.npz"
    else:
        assert [p.name for p in latest_checkpoints(killed_dir)] == [
            "epoch-000003.npz", "epoch-000002.npz", "epoch-000001.npz"]  # not yet pruned
    runner.finish(runner.launch(killed_dir, tmp_path / "killed.npz"))
    runner.assert_same_parameters(uninterrupted, tmp_path / "killed.npz")
    left = sorted(p.name for p in killed_dir.iterdir())
    assert left == ["epoch-000039.npz", "epoch-000040.npz"], left  # no torn file left behind


class _TwoStepSGD(SGD):
    """Plain SGD that does not offer its step to the caller: the loop takes the gradients and
    calls step()."""

    def plain_step_rate(self):
        return None


@pytest.fixture(params=["scipy", "numpy"])
def gemm_source(request, monkeypatch):
    """The products of the fast engine from SciPy's BLAS, as where SciPy and NumPy share one
    BLAS, or from NumPy's matmul."""
    if request.param == "scipy" and not _blas.available(np.float32):
        pytest.skip("SciPy's cython_blas is not importable here")
    _blas.gemm_unchecked.cache_clear()
    monkeypatch.setattr(_blas, "shares_numpys_blas", lambda: request.param == "scipy")
    yield request.param
    _blas.gemm_unchecked.cache_clear()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("route", ["fused", "two-step"])
def test_sgd_epoch_equals_a_numpy_reference_loop(activation, route, gemm_source):
    # the compiled loop (gather, fused kernels, the update inside the weight GEMMs, or the
    # gradients then the optimiser's pass) against the readable chain: np.take batches in the
    # same order, loss_and_gradients_reference, the NumPy update
    from nnbasics.mlp.model import loss_and_gradients_reference

    X, y = _data(n=70)
    sizes, lr = (5, 8, 3), 0.1
    fast_rng, ref_rng = np.random.default_rng(8), np.random.default_rng(8)
    weights, biases = init_parameters(sizes, "xavier", fast_rng, np.float32)
    ref_w, ref_b = init_parameters(sizes, "xavier", ref_rng, np.float32)
    ws = Workspace(sizes, 16, np.float32)
    optimizer = (SGD if route == "fused" else _TwoStepSGD)([*weights, *biases], lr)
    for _ in range(2):
        loss = sgd_epoch(X, y, weights, biases, activation, optimizer, ws, fast_rng)
        order, total = ref_rng.permutation(len(X)), 0.0
        for start in range(0, len(X), 16):
            idx = order[start : start + 16]
            batch_loss, dW, db = loss_and_gradients_reference(
                np.take(X, idx, axis=0), np.take(y, idx), ref_w, ref_b, activation)
            total += len(idx) * batch_loss
            for p, g in zip([*ref_w, *ref_b], [*dW, *db], strict=True):
                p -= lr * g
        assert loss == pytest.approx(total / len(X), rel=1e-7)
    for got, want in zip([*weights, *biases], [*ref_w, *ref_b], strict=True):
        # the two differ only in float32 rounding (BLAS vs NumPy summation order): ~1 ulp at
        # parameter values ~0.7 (6e-8) measured after two epochs; allow a few
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-7)


def test_which_optimisers_offer_a_plain_step():
    # the loop asks the optimiser; it never looks at its type
    params = [np.zeros(3, dtype=np.float32)]
    assert SGD(params, 0.1).plain_step_rate() == 0.1
    decaying = SGD(params, 0.1, decay_every=3, decay_factor=0.5)
    decaying.n_steps = 3
    assert decaying.plain_step_rate() == 0.05  # the rate of the next step
    assert SGD(params, 0.1, momentum=0.9).plain_step_rate() is None
    assert Adam(params, 0.1).plain_step_rate() is None


def test_fused_sgd_update_follows_the_decay_schedule_and_counts_steps(gemm_source):
    # the same run with and without the fused update: the learning rate of every step (decayed
    # every 3 steps) and the step count must agree, so checkpoints resume the same schedule
    X, y = _data(n=70)
    runs = []
    for optimizer_type in (SGD, _TwoStepSGD):
        rng = np.random.default_rng(4)
        weights, biases = init_parameters((5, 8, 3), "xavier", rng, np.float32)
        optimizer = optimizer_type([*weights, *biases], 0.5, decay_every=3, decay_factor=0.5)
        ws = Workspace((5, 8, 3), 16, np.float32)
        losses = [sgd_epoch(X, y, weights, biases, "tanh", optimizer, ws, rng) for _ in range(3)]
        runs.append((weights + biases, losses, optimizer.n_steps, optimizer.learning_rate))
    (w_fused, loss_fused, steps_fused, lr_fused), (w_plain, loss_plain, steps_plain, lr_plain) = (
        runs
    )
    assert steps_fused == steps_plain == 15  # 5 batches per epoch
    assert lr_fused == lr_plain == 0.5 * 0.5**5
    np.testing.assert_allclose(loss_fused, loss_plain, rtol=1e-6)
    for got, want in zip(w_fused, w_plain, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


def test_sgd_epoch_refuses_labels_the_kernels_would_index_outside():
    # the compiled gather and loss index without bounds checks: y is checked once per epoch
    X, y = _data(n=40)
    rng = np.random.default_rng(0)
    weights, biases = init_parameters((5, 4, 3), "xavier", rng, np.float32)
    ws = Workspace((5, 4, 3), 16, np.float32)
    before = [p.copy() for p in (*weights, *biases)]
    for bad, match in [(y[:-1], "40 integer"), (y.astype(np.float64), "integer"),
                       (np.where(y == 0, 3, y), r"outside \[0, 3\)"),
                       (np.where(y == 0, -1, y), "outside")]:
        with pytest.raises(ValueError, match=match):
            sgd_epoch(X, bad, weights, biases, "tanh", SGD([*weights, *biases], 0.1), ws, rng)
    for got, old in zip([*weights, *biases], before, strict=True):
        np.testing.assert_array_equal(got, old)


def test_count_step_is_for_plain_steps_only():
    p = [np.zeros(3)]
    plain = SGD(p, 0.1)
    plain.count_step()
    assert plain.n_steps == 1
    for stateful in (SGD(p, 0.1, momentum=0.9), Adam(p, 0.1)):
        with pytest.raises(ValueError, match="call step"):
            stateful.count_step()
        assert stateful.n_steps == 0


def test_sgd_epoch_refuses_parameters_blas_cannot_read():
    # a float64 bias with float32 weights, a strided bias: a clear error, nothing changed
    X, y = _data(n=48)
    for make_bias, match in ((lambda b: b.astype(np.float64), "float32"),
                             (lambda b: np.repeat(b, 2)[::2], "not contiguous")):
        rng = np.random.default_rng(2)
        weights, biases = init_parameters((5, 4, 3), "xavier", rng, np.float32)
        biases = [make_bias(b) for b in biases]
        before = [p.copy() for p in (*weights, *biases)]
        ws = Workspace((5, 4, 3), 16, np.float32)
        with pytest.raises(ValueError, match=match):
            sgd_epoch(X, y, weights, biases, "tanh", SGD([*weights, *biases], 0.1), ws, rng)
        for got, old in zip([*weights, *biases], before, strict=True):
            np.testing.assert_array_equal(got, old)


def test_history_records_the_rate_of_each_epochs_last_step():
    X, y = _data(n=100)
    state = _state(solver="sgd-plain")  # lr 0.1, halved every 5 steps
    config = LoopConfig(activation="sigmoid", batch_size=10, max_epochs=2, n_iter_no_change=100)
    run_epochs(state, X, y, config)
    # epoch 1: steps 0-9 (last at 0.1 * 0.5**1); epoch 2: steps 10-19 (last at 0.1 * 0.5**3)
    assert state.history.learning_rate == [0.05, 0.0125]


def test_an_epoch_of_one_batch_uses_one_buffer():
    X, y = _data(n=40)
    state = _state(sizes=(5, 8, 3), solver="sgd-plain")
    ws = Workspace((5, 8, 3), 64, np.float32)
    sgd_epoch(X, y, state.weights, state.biases, "relu", state.optimizer, ws, state.rng)
    assert ws._spare_inputs is None  # a full-batch run on a big data set does not pay twice
    assert ws._spare_targets is None
    ws_small = Workspace((5, 8, 3), 16, np.float32)
    sgd_epoch(X, y, state.weights, state.biases, "relu", state.optimizer, ws_small, state.rng)
    assert ws_small._spare_inputs is not None


@pytest.mark.parametrize("solver", ["sgd-plain", "adam"])
def test_training_accuracy_is_counted_during_the_epoch(solver):
    # a step far below the weights' precision changes nothing: the epoch's running accuracy is
    # then exactly the accuracy of the starting network on all rows
    X, y = _data(n=100)
    state = _state(solver=solver)
    state.optimizer.learning_rate_init = 1e-30
    from nnbasics.mlp.training import evaluate

    _, before = evaluate(X, y, state.weights, state.biases, "sigmoid")
    config = LoopConfig(activation="sigmoid", batch_size=16, max_epochs=1, n_iter_no_change=100)
    run_epochs(state, X, y, config)
    assert state.history.train_accuracy == [before]


def test_an_epoch_without_shuffling_is_the_epoch_over_the_permuted_rows():
    # sgd_epoch(shuffle=True) visits X[rng.permutation(N)]; the same rows given in that order
    # with shuffle=False make bit for bit the same step, and draw nothing from the generator
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 5)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    results = []
    for shuffle in (True, False):
        weights, biases = init_parameters((5, 8, 3), "xavier", np.random.default_rng(1),
                                          np.float32)
        optimizer = SGD([*weights, *biases], learning_rate=0.1, momentum=0.9)
        order_rng = np.random.default_rng(7)
        rows = np.arange(50) if shuffle else np.random.default_rng(7).permutation(50)
        before = order_rng.bit_generator.state
        sgd_epoch(X[rows], y[rows], weights, biases, "tanh", optimizer,
                  Workspace((5, 8, 3), 16, np.float32), order_rng, shuffle=shuffle)
        assert (order_rng.bit_generator.state == before) is (not shuffle)
        results.append([*weights, *biases])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
