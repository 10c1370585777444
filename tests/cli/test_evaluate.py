"""``nnbasics evaluate MODEL.npz``: accuracy and confusion matrix, the rows chosen, the errors."""

import re
import subprocess
import sys

import numpy as np
import pytest

from nnbasics.cli.evaluate import class_indices, format_confusion_matrix
from nnbasics.cli.main import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small digits model saved by ``nnbasics train`` (seed 4), and its printed accuracy."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("evaluate")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", "--hidden", "12", "--epochs", "5", "--lr", "0.01", "--seed", "4",
                     "--no-progress", "--report", str(path / "r"),
                     "--save", str(path / "model.npz")]) == 0
    line = next(x for x in out.getvalue().splitlines() if x.startswith("accuracy after"))
    test_accuracy = float(re.search(r"test ([0-9.]+)", line).group(1))
    return path / "model.npz", test_accuracy


def _matrix(out: str) -> np.ndarray:
    lines = out.splitlines()
    start = lines.index("confusion matrix (rows: true class, columns: predicted class):") + 2
    end = next(i for i, line in enumerate(lines) if line.startswith("per class"))
    return np.array([[int(v) for v in line.split()[1:]] for line in lines[start:end]])


def _per_class(out: str) -> dict[str, tuple[float, float, float, int]]:
    """class -> (precision, recall, f1, support) from the classification report."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("per class")) + 3
    rows = {}
    for line in lines[start:]:
        if not line.strip():
            break
        name, *numbers = line.split()
        rows[name] = (*map(float, numbers[:3]), int(numbers[3]))
    return rows


def test_evaluate_uses_the_training_runs_test_rows(trained, capsys):
    model, test_accuracy = trained
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out
    assert "450 rows of digits (the training run's held-out test rows (seed 4))" in out
    accuracy = float(re.search(r"^accuracy: ([0-9.]+)", out, flags=re.MULTILINE).group(1))
    assert accuracy == pytest.approx(test_accuracy, abs=1e-4)  # the same rows as train used
    matrix = _matrix(out)
    assert matrix.shape == (10, 10) and matrix.sum() == 450
    assert np.trace(matrix) / 450 == pytest.approx(accuracy, abs=1e-4)
    assert np.array_equal(matrix.sum(axis=1), np.bincount(_digits_test_labels(4), minlength=10))
    # per-class precision, recall and F1 agree with the confusion matrix
    per_class = _per_class(out)
    assert list(per_class) == [str(c) for c in range(10)]
    for c, (precision, recall, f1, support) in per_class.items():
        row, column, hit = matrix[int(c)].sum(), matrix[:, int(c)].sum(), matrix[int(c), int(c)]
        assert support == row and recall == pytest.approx(hit / row, abs=5e-5)
        assert precision == pytest.approx(hit / column if column else 0.0, abs=5e-5)
        assert f1 == pytest.approx(2 * hit / (row + column), abs=5e-5)


def _digits_test_labels(seed):
    from nnbasics.io.datasets import held_out_split, load_digits

    d = load_digits()
    return held_out_split(d.X, d.y, 0.25, seed)[3]


def test_evaluate_all_rows(trained, capsys):
    model, _ = trained
    assert main(["evaluate", str(model), "--all-rows"]) == 0
    out = capsys.readouterr().out
    assert "1797 rows of digits (all rows)" in out and _matrix(out).sum() == 1797


def test_evaluate_on_other_data_uses_all_its_rows(trained, tmp_path, capsys):
    from nnbasics.io.datasets import load_digits
    from nnbasics.mlp.estimator import load_model

    model_path, _ = trained
    d = load_digits()
    data = tmp_path / "some.npz"
    np.savez(data, X=d.X[:30], y=d.y[:30])
    assert main(["evaluate", str(model_path), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    from nnbasics.cli.standardize import Standardizer

    model = load_model(model_path)
    standardizer = Standardizer.from_metadata(model.extra_metadata_)  # the training run's scale
    expected = model.score(standardizer.transform(d.X[:30]), d.y[:30])
    assert "30 rows" in out and "(all rows)" in out
    assert f"accuracy: {expected:.4f}" in out


def test_evaluate_uses_an_official_test_split(trained, tmp_path, capsys):
    from nnbasics.io.datasets import load_digits

    model_path, _ = trained
    d = load_digits()
    data = tmp_path / "split.npz"
    np.savez(data, X=d.X[:100], y=d.y[:100], X_test=d.X[100:120], y_test=d.y[100:120])
    assert main(["evaluate", str(model_path), "--data", str(data)]) == 0
    assert "20 rows" in capsys.readouterr().out


def test_evaluate_csv_model_by_label_name(tmp_path, capsys):
    lines = ["f1,f2,animal"] + [f"{i % 2 * 4 + 0.1 * (i % 5)},{i % 2},{['ant', 'bee'][i % 2]}"
                                  for i in range(40)]
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["train", "--data", str(data), "--label-column", "animal", "--hidden", "4",
                 "--epochs", "15", "--batch-size", "4", "--lr", "0.02", "--no-progress",
                 "--report", str(tmp_path / "r"), "--save", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    # the label column and the data path come from the model file
    assert main(["evaluate", str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr().out
    assert "held-out test rows" in out and "ant" in out and "bee" in out
    assert _matrix(out).sum() == 10  # 25% of 40 rows


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", "not a valid nnbasics file"),
    (b"PK\x03\x04 not really a zip", "not a valid nnbasics file"),
])
def test_missing_or_corrupt_model_is_one_line_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnbasics: error: ") and message in err and err.count("\n") == 1


def test_truncated_model_is_one_line_exit_2(trained, tmp_path, capsys):
    data = trained[0].read_bytes()
    for keep in (0.3, 0.7, 0.99):
        path = tmp_path / "cut.npz"
        path.write_bytes(data[: int(len(data) * keep)])
        assert main(["evaluate", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("nnbasics: error: ") and err.count("\n") == 1


def test_foreign_npz_is_refused(tmp_path, capsys):
    path = tmp_path / "foreign.npz"
    np.savez(path, X=np.zeros((2, 2)))
    assert main(["evaluate", str(path)]) == 2
    assert "not an nnbasics file" in capsys.readouterr().err


def test_data_that_does_not_fit_the_model(trained, tmp_path, capsys):
    model, _ = trained
    narrow = tmp_path / "narrow.npz"
    np.savez(narrow, X=np.zeros((4, 3)), y=np.zeros(4, int))
    assert main(["evaluate", str(model), "--data", str(narrow)]) == 2
    assert "the data has 3 features but the model expects 64" in capsys.readouterr().err
    alien = tmp_path / "alien.npz"
    np.savez(alien, X=np.zeros((4, 64)), y=np.array([1, 2, 42, 3]))
    assert main(["evaluate", str(model), "--data", str(alien)]) == 2
    assert "label 42 is not one of the model's classes" in capsys.readouterr().err


def test_from_the_shell(trained, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nnbasics", "evaluate", str(tmp_path / "x.npz")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("nnbasics: error: no such file")
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "nnbasics", "evaluate", str(trained[0])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "accuracy:" in proc.stdout


def test_class_indices():
    classes = np.array([2, 5, 9])
    np.testing.assert_array_equal(class_indices(np.array([9, 2, 5, 5]), classes), [2, 0, 1, 1])
    np.testing.assert_array_equal(class_indices(np.array([9.0, 2.0]), classes), [2, 0])
    np.testing.assert_array_equal(class_indices(np.array(["5", "9"]), classes), [1, 2])
    np.testing.assert_array_equal(class_indices(np.array(["b", "a"]), np.array(["a", "b"])),
                                  [1, 0])
    with pytest.raises(ValueError, match="label 3 is not one of the model's classes"):
        class_indices(np.array([2, 3]), classes)
    with pytest.raises(ValueError, match="label 10 is not"):
        class_indices(np.array([10]), classes)  # past the last class
    # classes saved as text ("1.0"), labels read as numbers: compared as numbers
    np.testing.assert_array_equal(class_indices(np.array([2, 1]), np.array(["1.0", "2.0"])),
                                  [1, 0])
    with pytest.raises(ValueError, match="label 'x' is not"):
        class_indices(np.array(["x"]), classes)


def test_format_confusion_matrix():
    text = format_confusion_matrix(np.array([[3, 0], [1, 12345]]), ["a", "bb"])
    assert text.splitlines() == ["          a    bb",
                                 "    a     3     0",
                                 "   bb     1 12345"]


def test_a_reader_that_goes_away_is_not_an_error(monkeypatch, capfd):
    # `nnbasics evaluate m.npz | head -1`: the pipe closes under the command's output
    from nnbasics.cli import evaluate as evaluate_command

    def closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(evaluate_command, "run", closed_pipe)
    assert main(["evaluate", "model.npz"]) == 141
    assert "error" not in capfd.readouterr().err


@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    """A model trained by ``nnbasics train`` on a CSV of the digits (seed 3)."""
    import contextlib
    import io

    from nnbasics.io.datasets import load_digits

    path = tmp_path_factory.mktemp("held_out")
    d = load_digits()
    table = np.column_stack([d.X, d.y])
    np.savetxt(path / "digits.csv", table, delimiter=",", fmt="%g",
               header=",".join([f"p{i}" for i in range(64)] + ["label"]), comments="")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--data", str(path / "digits.csv"), "--label-column", "label",
                     "--hidden", "12", "--epochs", "3", "--seed", "3", "--no-progress",
                     "--report", str(path / "r"), "--save", str(path / "model.npz")]) == 0
    return path, table


def test_a_shuffled_training_file_is_refused_not_scored_as_held_out(csv_model, capsys):
    path, table = csv_model
    shuffled = table[np.random.default_rng(0).permutation(len(table))]
    np.savetxt(path / "digits.csv", shuffled, delimiter=",", fmt="%g",
               header=",".join([f"p{i}" for i in range(64)] + ["label"]), comments="")
    try:
        assert main(["evaluate", str(path / "model.npz")]) == 2
        err = capsys.readouterr().err
        assert "digits.csv has changed since the model was trained on it" in err
        assert "--all-rows" in err and err.count("\n") == 1
        assert main(["evaluate", str(path / "model.npz"), "--all-rows"]) == 0
        assert f"{len(table)} rows of" in capsys.readouterr().out
    finally:  # the module's other tests read the file as trained
        np.savetxt(path / "digits.csv", table, delimiter=",", fmt="%g",
                   header=",".join([f"p{i}" for i in range(64)] + ["label"]), comments="")


def test_the_same_content_under_another_name_finds_the_held_out_rows(csv_model, capsys):
    import shutil

    path, table = csv_model
    shutil.copy(path / "digits.csv", path / "copy.csv")
    assert main(["evaluate", str(path / "model.npz"), "--data", str(path / "copy.csv")]) == 0
    out = capsys.readouterr().out
    assert "the training run's held-out test rows (seed 3)" in out
    assert f"{int(np.ceil(0.25 * len(table)))} rows of" in out


def test_other_data_is_scored_whole_and_says_so(csv_model, capsys):
    path, table = csv_model
    np.savetxt(path / "half.csv", table[::2], delimiter=",", fmt="%g",
               header=",".join([f"p{i}" for i in range(64)] + ["label"]), comments="")
    assert main(["evaluate", str(path / "model.npz"), "--data", str(path / "half.csv")]) == 0
    assert f"{len(table[::2])} rows of {path / 'half.csv'} (all rows)" in capsys.readouterr().out


def test_a_model_without_a_data_fingerprint_is_not_trusted_with_held_out_rows(csv_model, capsys):
    from nnbasics.mlp.estimator import load_model

    path, _ = csv_model
    model = load_model(path / "model.npz")
    extra = {k: v for k, v in model.extra_metadata_.items() if k != "data_sha256"}
    model.save(path / "old.npz", extra_metadata=extra)  # as nnbasics 0.1's train saved it
    assert main(["evaluate", str(path / "old.npz")]) == 2
    assert "cannot be confirmed; pass --all-rows" in capsys.readouterr().err
