"""``nnbasics predict MODEL.npz DATA``: one CSV line per row, probabilities on request, the
training run's standardisation applied, outputs checked first."""

import csv
import io

import numpy as np
import pytest

from nnbasics.cli.main import main
from nnbasics.mlp.estimator import load_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained by the CLI on a CSV with a named label column (standardised)."""
    import contextlib

    path = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * [1.0, 100.0, 0.01] + [0.0, 500.0, 0.0]
    X = np.array([[float(f"{v:.6g}") for v in row] for row in X])  # as the file holds them
    y = np.where(X[:, 0] + (X[:, 1] - 500) / 100 > 0, "yes", "no")
    data = path / "d.csv"
    with open(data, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "answer", "b", "c"])
        for row, label in zip(X, y, strict=True):
            writer.writerow([f"{row[0]:.6g}", label, f"{row[1]:.6g}", f"{row[2]:.6g}"])
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--data", str(data), "--label-column", "answer", "--hidden", "8",
                     "--epochs", "20", "--lr", "0.01", "--no-progress", "--report",
                     str(path / "r"), "--save", str(path / "m.npz")]) == 0
    return path, X, y


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_predictions_of_a_csv_with_its_label_column_match_the_model(trained, capsys):
    path, X, _ = trained
    assert main(["predict", str(path / "m.npz"), str(path / "d.csv"), "--proba"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows[0] == ["prediction", "proba_no", "proba_yes"] and len(rows) == 1 + len(X)
    model = load_model(path / "m.npz")
    saved = model.extra_metadata_["standardize"]
    Z = ((X.astype(np.float32) - saved["mean"]) / saved["scale"]).astype(np.float32)
    expected = model.predict(Z)
    assert [r[0] for r in rows[1:]] == expected.tolist()
    proba = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(proba, model.predict_proba(Z), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_a_csv_of_features_only_gives_the_same_predictions(trained, capsys, tmp_path):
    path, X, _ = trained
    assert main(["predict", str(path / "m.npz"), str(path / "d.csv")]) == 0
    with_labels = _rows(capsys.readouterr().out)
    features = tmp_path / "new.csv"
    np.savetxt(features, X, delimiter=",", fmt="%.6g", header="a,b,c", comments="")
    out = tmp_path / "p.csv"
    assert main(["predict", str(path / "m.npz"), str(features), "--out", str(out)]) == 0
    assert f"wrote {len(X)} predictions to {out}" in capsys.readouterr().err
    assert _rows(out.read_text()) == with_labels  # no proba columns without --proba
    assert with_labels[0] == ["prediction"]


@pytest.mark.parametrize("args, message", [
    (["{path}/m.npz", "{tmp}/wrong.csv"], "has 5 fields; the model takes 3 features"),
    (["{path}/m.npz", "{path}/d.csv", "--out", "{path}/d.csv"], "exists; pass --overwrite"),
    (["{path}/m.npz", "{path}/d.csv", "--out", "/no/such/dir/p.csv"], "does not exist"),
    (["{path}/nope.npz", "{path}/d.csv"], "no such file"),
])
def test_bad_input_is_one_line_exit_2(trained, capsys, tmp_path, args, message):
    path, *_ = trained
    (tmp_path / "wrong.csv").write_text("1,2,3,4,5\n")
    argv = [a.format(path=path, tmp=tmp_path) for a in args]
    assert main(["predict", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnbasics: error: ") and err.count("\n") == 1 and message in err
