"""``nnbasics train``: the run end to end, its report, its checks, its errors (kept small: tiny
hidden layers and a few epochs on the embedded digits)."""

import io
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from nnbasics.cli.main import main
from nnbasics.cli.train import TrainConfig, _Progress, register
from nnbasics.mlp.estimator import load_model
from nnbasics.mlp.training import History

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["--hidden", "8", "--epochs", "2", "--no-progress"]


def _accuracies(out: str) -> dict[str, float]:
    line = next(line for line in out.splitlines() if line.startswith("accuracy after"))
    return {k: float(v) for k, v in re.findall(r"(train|validation|test) ([0-9.]+)", line)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One small run with every output switched on: report, lr sweep, saved model."""
    path = tmp_path_factory.mktemp("train")
    capture = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(capture):
        code = main(["train", "--hidden", "16", "--epochs", "8", "--batch-size", "32",
                     "--lr", "0.01", "--seed", "3", "--report", str(path / "report"),
                     "--save", str(path / "model.npz"), "--lr-sweep", "--no-progress"])
    return SimpleNamespace(code=code, out=capture.getvalue(), path=path)


def test_run_succeeds_and_prints_its_steps(run):
    assert run.code == 0
    out = run.out
    # the resolved configuration comes first, one setting per line
    assert out.startswith("nnbasics train: resolved configuration\n")
    settings = dict(re.findall(r"^  (\w+) += (.*)$", out, flags=re.MULTILINE))
    assert settings["hidden"] == "(16,)" and settings["epochs"] == "8" and settings["lr"] == "0.01"
    assert settings["seed"] == "3" and settings["lr_sweep"] == "True" and len(settings) == 25
    assert "1212 train, 135 validation, 450 test rows, 64 features, 10 classes" in out
    check = next(line for line in out.splitlines() if line.startswith("gradient check"))
    assert "64-16-10 relu: 4 parameter arrays" in check and check.endswith("passed")
    assert out.index("gradient check") < out.index("accuracy after")  # checked before training


def test_run_learns(run):
    accuracies = _accuracies(run.out)
    assert set(accuracies) == {"train", "validation", "test"}
    assert accuracies["test"] > 0.9  # 8 epochs of 16 hidden units on digits: ~0.95


def test_report_figures_are_pngs(run):
    report = run.path / "report"
    names = {"curves.png", "confusion_matrix.png", "activations.png",
             "first_layer_weights.png", "learning_rates.png"}
    assert {p.name for p in report.iterdir()} == names  # no temporary files left behind
    for name in names:
        assert (report / name).read_bytes()[:8] == PNG_MAGIC
    assert f"5 figures written to {report.resolve()}" in run.out
    sweep = [line for line in run.out.splitlines() if line.startswith("lr sweep")]
    assert len(sweep) == 3 and "lr 0.1: validation" in sweep[0] and "lr 0.001: " in sweep[1]
    # the rates are compared on the validation rows; no test accuracy is printed for them
    assert sweep[2].startswith("lr sweep: best on the validation rows: lr ")
    assert not any("test" in line for line in sweep)


def test_saved_model_reproduces_the_printed_test_accuracy(run):
    from nnbasics.io.datasets import held_out_split, load_digits

    model = load_model(run.path / "model.npz")
    assert model.hidden_layer_sizes == (16,) and model.n_iter_ == 8
    assert model.extra_metadata_["data"] == "digits" and model.extra_metadata_["seed"] == 3
    d = load_digits()
    X_rest, _, X_test, y_test = held_out_split(d.X, d.y, 0.25, seed=3)
    X_train, *_ = held_out_split(X_rest, _, 0.1, seed=4)
    # standardised by the training rows' mean and standard deviation, saved with the model
    saved = model.extra_metadata_["standardize"]
    np.testing.assert_allclose(saved["mean"], X_train.mean(axis=0, dtype=np.float64))
    scale = X_train.std(axis=0, dtype=np.float64)
    np.testing.assert_allclose(saved["scale"], np.where(scale > 0, scale, 1.0))
    X_test = ((X_test - np.array(saved["mean"])) / np.array(saved["scale"])).astype(np.float32)
    assert model.score(X_test, y_test) == pytest.approx(_accuracies(run.out)["test"], abs=5e-5)


def test_same_seed_same_model(tmp_path, capsys):
    for name in ("a", "b"):
        assert main(["train", *SMALL, "--seed", "5", "--report", str(tmp_path / name),
                     "--save", str(tmp_path / f"{name}.npz")]) == 0
    a, b = load_model(tmp_path / "a.npz"), load_model(tmp_path / "b.npz")
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_save_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "model.npz"
    target.write_bytes(b"precious")
    assert main(["train", *SMALL, "--report", str(tmp_path / "r"), "--save", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"nnbasics: error: --save {target} exists; pass --overwrite to replace it\n"
    assert target.read_bytes() == b"precious"
    assert not (tmp_path / "r").exists()  # refused before any work
    assert main(["train", *SMALL, "--report", str(tmp_path / "r"), "--save", str(target),
                 "--overwrite"]) == 0
    assert load_model(target).n_iter_ == 2


def test_checkpoint_and_resume_match_an_uninterrupted_run(tmp_path, capsys):
    common = ["--hidden", "8", "--no-progress", "--seed", "2", "--batch-size", "100"]
    ckpt = str(tmp_path / "ckpt")
    assert main(["train", *common, "--epochs", "4", "--report", str(tmp_path / "r0"),
                 "--save", str(tmp_path / "straight.npz")]) == 0
    assert main(["train", *common, "--epochs", "2", "--checkpoint-dir", ckpt,
                 "--report", str(tmp_path / "r1")]) == 0
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "epoch-000001.npz", "epoch-000002.npz"]
    capsys.readouterr()
    # checkpoints exist: a run that does not say --resume refuses to mix with them
    assert main(["train", *common, "--epochs", "4", "--checkpoint-dir", ckpt,
                 "--report", str(tmp_path / "r2")]) == 2
    assert "already holds checkpoints" in capsys.readouterr().err
    progress_lines = [a for a in common if a != "--no-progress"]  # one line per epoch run
    assert main(["train", *progress_lines, "--epochs", "4", "--checkpoint-dir", ckpt, "--resume",
                 "--report", str(tmp_path / "r2"), "--save", str(tmp_path / "resumed.npz")]) == 0
    captured = capsys.readouterr()
    assert f"resumed from the checkpoint of epoch 2 in {ckpt}" in captured.out
    err = captured.err  # progress lines go to stderr
    assert "epoch 3/4" in err and "epoch 4/4" in err and "epoch 2/4" not in err  # 2 epochs run
    straight, resumed = load_model(tmp_path / "straight.npz"), load_model(tmp_path / "resumed.npz")
    assert resumed.n_iter_ == straight.n_iter_ == 4
    for a, b in zip(straight.coefs_ + straight.intercepts_, resumed.coefs_ + resumed.intercepts_,
                    strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(straight.first_layer_init_, resumed.first_layer_init_)


def test_a_wrong_gradient_stops_the_run(tmp_path, capsys, monkeypatch):
    import nnbasics.mlp.model as mlp

    original = mlp.loss_and_gradients

    def wrong(*args, **kwargs):
        loss = original(*args, **kwargs)
        args[5].dbiases[0] *= 1.5  # workspace: a bias gradient 50% too large
        return loss

    monkeypatch.setattr(mlp, "loss_and_gradients", wrong)
    assert main(["train", *SMALL, "--report", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "gradient check FAILED for b1" in out and "accuracy" not in out
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    (["--data", "/no/such/file.csv"], "no such data set: /no/such/file.csv"),
    (["--hidden", "x"], "train: argument --hidden: invalid int value: 'x'"),
    (["--hidden", "8", "0"], "--hidden sizes must be >= 1, got 8 0"),
    (["--epochs", "-3"], "--epochs must be >= 1, got -3"),
    (["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--activation", "softplus"], "argument --activation: invalid choice: 'softplus'"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--lr", "-1"], "--lr must be a positive number"),
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--momentum", "1"], "--momentum must be in [0, 1)"),
    (["--resume"], "--resume needs --checkpoint-dir"),
    (["--test-fraction", "1.5"], "--test-fraction must be in (0, 1)"),
    (["--save", "/no/such/dir/m.npz"],
     "--save /no/such/dir/m.npz: directory /no/such/dir does not exist"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--seed", "-1"], "--seed must be in [0, 4294967294], got -1"),
    (["--seed", str(2**32)], "--seed must be in [0, 4294967294]"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    assert main(["train", "--no-progress", "--report", str(tmp_path / "r"), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("nnbasics: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_bad_input_from_the_shell_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nnbasics", "train", "--epochs", "-1"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "nnbasics: error: --epochs must be >= 1, got -1\n"
    assert not (tmp_path / "nnbasics-report").exists()


def test_unknown_label_in_the_official_test_split(tmp_path, capsys, rng):
    path = tmp_path / "d.npz"
    np.savez(path, X=rng.random((40, 3)), y=np.arange(40) % 2, X_test=rng.random((4, 3)),
             y_test=np.array([0, 1, 7, 1]))
    assert main(["train", *SMALL, "--data", str(path), "--report", str(tmp_path / "r")]) == 2
    assert "label 7 occurs in the test rows but in no training row" in capsys.readouterr().err


def test_csv_with_named_string_labels_and_no_images(tmp_path, capsys, rng):
    centres = {"cat": (0.0, 0.0, 3.0), "dog": (3.0, 0.0, 0.0), "eel": (0.0, 3.0, 0.0)}
    lines = ["a,kind,b,c"]
    for i in range(90):
        name = list(centres)[i % 3]
        x = np.array(centres[name]) + 0.3 * rng.standard_normal(3)
        lines.append(f"{x[0]:.4f},{name},{x[1]:.4f},{x[2]:.4f}")
    data = tmp_path / "pets.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["train", "--data", str(data), "--label-column", "kind", "--hidden", "6",
                 "--epochs", "20", "--lr", "0.02", "--batch-size", "8", "--no-progress", "--report",
                 str(tmp_path / "r"), "--save", str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr().out
    assert "3 features, 3 classes" in out and _accuracies(out)["test"] == 1.0
    # 3 features are no image: no weight figure, the other three are there
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "activations.png", "confusion_matrix.png", "curves.png"]
    assert load_model(tmp_path / "m.npz").classes_.tolist() == ["cat", "dog", "eel"]


def test_progress_bar_on_a_terminal_and_lines_elsewhere():
    class Stream(io.StringIO):
        def __init__(self, tty):
            super().__init__()
            self.tty = tty

        def isatty(self):
            return self.tty

    def state(epoch):
        h = History(train_loss=[1.0 / epoch] * epoch, train_accuracy=[0.5] * epoch,
                    val_loss=[1.0] * epoch, val_accuracy=[0.25] * epoch)
        return SimpleNamespace(epoch=epoch, history=h)

    tty = Stream(True)
    bar = _Progress(30, enabled=True, stream=tty)
    for epoch in range(1, 31):
        bar(state(epoch))
    bar.close()
    assert "30/30" in tty.getvalue() and "val_acc=0.2500" in tty.getvalue()

    log = Stream(False)
    capture = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(capture):
        lines = _Progress(30, enabled=True, stream=log)
        for epoch in range(1, 31):
            lines(state(epoch))
        lines.close()
    printed = log.getvalue().splitlines()
    assert capture.getvalue() == ""  # stdout keeps the results alone
    assert "\r" not in log.getvalue()  # lines, no bar drawn into a log
    assert len(printed) == 10 and printed[-1].startswith("epoch 30/30: loss 0.0333")


def test_config_defaults_match_the_parser():
    """The dataclass is the single source of the defaults the parser shows."""
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["train"])
    from nnbasics.cli.train import config_from_args

    assert config_from_args(args) == TrainConfig()


def test_readme_quick_start_runs_train_first():
    """.ci/run takes line 2 of the Quick start block as the test command: keep its shape."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    setup, tests = commands
    # PEP 668: a distribution Python refuses a bare `pip install`; both commands install into the
    # ./.venv they make, with the machine's own pip, and run from there
    venv = "python3 -m venv --without-pip .venv && python3 -m pip --python .venv/bin/python install"
    assert setup == f"{venv} . && .venv/bin/nnbasics train"
    assert tests == f'{venv} ".[test]" && .venv/bin/python -m pytest -q -n 2'


def test_a_diverging_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", *SMALL, "--solver", "sgd", "--lr", "1e35",
                 "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnbasics: error: training diverged at epoch 1") and err.count("\n") == 1


def test_lr_sweep_reports_a_diverging_rate_and_still_draws(tmp_path, capsys, monkeypatch):
    import nnbasics.cli.train as train

    monkeypatch.setattr(train, "LR_SWEEP_FACTORS", (1e40, 0.1))  # 1e38: NaN in the first epoch
    assert main(["train", *SMALL, "--solver", "sgd", "--lr", "0.01", "--lr-sweep",
                 "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "lr sweep: lr 1e+38 diverged after 0 epochs" in out
    assert "lr sweep: lr 0.001: validation accuracy" in out
    assert (tmp_path / "r" / "learning_rates.png").read_bytes()[:8] == PNG_MAGIC


def test_mnist_directory_softmax_regression_and_report_reuse(tmp_path, capsys, rng):
    """MNIST IDX files (tiny, written here), no hidden layer, a report directory used twice."""
    from tests.test_datasets import _write_mnist

    _write_mnist(tmp_path, rng, n_train=200, n_test=20, rows=4, cols=4)
    report = tmp_path / "r"
    args = ["train", "--data", str(tmp_path), "--hidden", "--epochs", "2", "--no-progress",
            "--report", str(report)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "180 train, 20 validation, 20 test rows, 16 features, 10 classes" in out
    assert "gradient check of 16-10 relu: 2 parameter arrays" in out
    assert "report: replacing" not in out
    # without hidden layers the first layer is the output layer: 10 class templates of 4 x 4
    assert (report / "first_layer_weights.png").read_bytes()[:8] == PNG_MAGIC
    (report / "learning_rates.png").write_bytes(b"an old sweep")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert ("report: replacing activations.png, confusion_matrix.png, curves.png, "
            "first_layer_weights.png, learning_rates.png in") in out
    assert "learning_rates.png in " + str(report) + " are from an earlier run" in out


def test_resume_with_no_checkpoint_trains_from_the_start(tmp_path, capsys):
    ckpt = tmp_path / "empty"
    assert main(["train", *SMALL, "--checkpoint-dir", str(ckpt), "--resume",
                 "--report", str(tmp_path / "r")]) == 0
    assert f"no usable checkpoint in {ckpt}: trained from the start" in capsys.readouterr().out
    assert sorted(p.name for p in ckpt.iterdir()) == ["epoch-000001.npz", "epoch-000002.npz"]


def test_defaults_are_the_estimators():
    from nnbasics.mlp.estimator import MLPClassifier

    model, config = MLPClassifier().get_params(), TrainConfig()
    pairs = {"hidden": "hidden_layer_sizes", "activation": "activation", "solver": "solver",
             "init": "init", "epochs": "max_iter", "batch_size": "batch_size",
             "lr": "learning_rate_init", "momentum": "momentum", "alpha": "alpha",
             "lr_decay_steps": "lr_decay_steps", "lr_decay_factor": "lr_decay_factor",
             "validation_fraction": "validation_fraction"}
    for ours, theirs in pairs.items():
        assert getattr(config, ours) == model[theirs], f"--{ours} default differs from {theirs}"


def test_out_of_memory_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    import nnbasics.io.datasets

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(nnbasics.io.datasets, "load_dataset", exhausted)
    assert main(["train", "--no-progress", "--report", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("nnbasics: error: out of memory")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_report_or_checkpoint_dir_under_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for option in ("--report", "--checkpoint-dir"):
        args = ["train", "--no-progress", "--report", str(tmp_path / "r"), option,
                str(tmp_path / "afile" / "sub")]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"{option} " in err and "afile exists and is not a directory" in err
    assert not (tmp_path / "r").exists()  # refused before any work


def test_semicolon_csv_with_delimiter_option_trains_and_evaluates(tmp_path, capsys, rng):
    # spreadsheets in many locales export ';'-separated files; evaluate reuses the delimiter
    lines = []
    for i in range(90):
        label = i % 3
        x = np.eye(3)[label] * 3 + 0.3 * rng.standard_normal(3)
        lines.append(";".join(f"{v:.4f}" for v in x) + f";{label}")
    data = tmp_path / "semi.csv"
    data.write_text("\n".join(lines) + "\n")
    assert main(["train", "--data", str(data), "--delimiter", ";", "--hidden", "6", "--epochs",
                 "20", "--lr", "0.02", "--batch-size", "8", "--no-progress", "--report",
                 str(tmp_path / "r"), "--save", str(tmp_path / "m.npz")]) == 0
    assert "3 features, 3 classes" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "m.npz")]) == 0
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--label-column", "0"], "a label column (0) applies to CSV files only"),
    (["--delimiter", ";"], "a delimiter (';') applies to CSV files only"),
])
def test_csv_options_on_other_data_are_refused(tmp_path, capsys, args, message):
    assert main(["train", *SMALL, "--report", str(tmp_path / "r"), *args]) == 2
    assert message in capsys.readouterr().err


def test_continuous_labels_are_refused_in_one_short_line(tmp_path, capsys, rng):
    path = tmp_path / "regression.npz"
    np.savez(path, X=rng.random((500, 3)), y=rng.random(500))
    assert main(["train", *SMALL, "--data", str(path), "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "the labels are continuous numbers" in err and len(err) < 300


def test_a_model_trained_on_a_csv_evaluates_on_other_data(tmp_path, capsys, rng):
    # the training run's label column and delimiter are the CSV's: evaluating the model on
    # digits (same 64 features) must not pass them to the digits loader
    header = ";".join([f"p{i}" for i in range(64)] + ["label"])
    rows = [";".join(f"{v:.3f}" for v in rng.random(64)) + f";{i % 10}" for i in range(120)]
    data = tmp_path / "d.csv"
    data.write_text("\n".join([header, *rows]) + "\n")
    assert main(["train", *SMALL, "--data", str(data), "--label-column", "label", "--delimiter",
                 ";", "--report", str(tmp_path / "r"), "--save", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "m.npz"), "--data", "digits"]) == 0
    assert "1797 rows of digits" in capsys.readouterr().out


def test_features_are_standardised_by_default_and_kept_with_no_scale(tmp_path, capsys):
    # wine's 13 features span 0.1 to 1680: unscaled, gradient descent stalls quietly
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    data = tmp_path / "wine.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", fmt="%.6g")
    common = ["train", "--data", str(data), "--epochs", "30", "--no-progress", "--seed", "0"]
    assert main([*common, "--report", str(tmp_path / "a"), "--save", str(tmp_path / "a.npz")]) == 0
    scaled = capsys.readouterr().out
    assert main([*common, "--no-scale", "--report", str(tmp_path / "b"),
                 "--save", str(tmp_path / "b.npz")]) == 0
    unscaled = capsys.readouterr().out
    assert "features standardised" in scaled and "features standardised" not in unscaled
    assert _accuracies(scaled)["test"] >= 0.95  # measured: 1.00
    assert _accuracies(unscaled)["test"] < _accuracies(scaled)["test"]  # measured: 0.67
    assert "standardize" in load_model(tmp_path / "a.npz").extra_metadata_
    assert "standardize" not in load_model(tmp_path / "b.npz").extra_metadata_
    # evaluate applies the saved scale: the held-out rows score as training printed
    for name, out in (("a", scaled), ("b", unscaled)):
        assert main(["evaluate", str(tmp_path / f"{name}.npz")]) == 0
        evaluated = capsys.readouterr().out
        expected = _accuracies(out)["test"]
        assert f"accuracy: {expected:.4f}" in evaluated
