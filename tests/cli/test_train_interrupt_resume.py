"""``nnbasics train`` keeps what it trained on Ctrl-C, and resumes only from a usable checkpoint."""

import numpy as np

import nnbasics.mlp.estimator as estimator_module
from nnbasics.cli.main import main
from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.mlp.estimator import load_model
from nnbasics.mlp.training import CHECKPOINT_KIND, latest_checkpoints

RUN = ["--hidden", "8", "--epochs", "4", "--no-progress", "--seed", "2"]


def test_ctrl_c_writes_the_model_and_report_and_says_how_to_resume(tmp_path, capsys,
                                                                   monkeypatch):
    original = estimator_module.run_epochs

    def two_epochs_then_ctrl_c(state, X, y, config, validation, directory, fingerprint, callback,
                               **kwargs):
        def on_epoch(s):
            callback(s)
            if s.epoch == 2:
                raise KeyboardInterrupt
        original(state, X, y, config, validation, directory, fingerprint, on_epoch, **kwargs)

    monkeypatch.setattr(estimator_module, "run_epochs", two_epochs_then_ctrl_c)
    ckpt, saved, report = tmp_path / "ckpt", tmp_path / "m.npz", tmp_path / "r"
    code = main(["train", *RUN, "--checkpoint-dir", str(ckpt), "--save", str(saved),
                 "--report", str(report)])
    assert code == 130
    captured = capsys.readouterr()
    assert "nnbasics: interrupted after 2 full epochs" in captured.err
    assert f"run the same command with --resume to continue from {ckpt}" in captured.err
    assert "accuracy after 2 epochs" in captured.out
    assert load_model(saved).n_iter_ == 2 and (report / "curves.png").exists()
    monkeypatch.undo()
    # and the run goes on from epoch 2's checkpoint
    assert main(["train", *RUN, "--checkpoint-dir", str(ckpt), "--resume",
                 "--report", str(report)]) == 0
    assert "resumed from the checkpoint of epoch 2" in capsys.readouterr().out


def _checkpointed_run(tmp_path):
    ckpt = tmp_path / "ckpt"
    assert main(["train", *RUN, "--checkpoint-dir", str(ckpt), "--report",
                 str(tmp_path / "r")]) == 0
    return ckpt


def test_resume_skips_a_defective_newest_checkpoint_and_says_so(tmp_path, capsys):
    ckpt = _checkpointed_run(tmp_path)
    newest = latest_checkpoints(ckpt)[0]  # epoch 4's
    arrays, meta = load_arrays(newest, kind=CHECKPOINT_KIND)
    del arrays["coef_0"]
    save_arrays(newest, arrays, meta, kind=CHECKPOINT_KIND)
    capsys.readouterr()
    assert main(["train", *RUN, "--epochs", "5", "--checkpoint-dir", str(ckpt), "--resume",
                 "--report", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert f"nnbasics: warning: skipped checkpoint {newest}: no array 'coef_0'" in captured.err
    assert "resumed from the checkpoint of epoch 3" in captured.out


def test_resume_without_a_usable_checkpoint_stops_before_training(tmp_path, capsys):
    ckpt = _checkpointed_run(tmp_path)
    for path in latest_checkpoints(ckpt):
        path.write_bytes(path.read_bytes()[:200])  # truncated
    before = {p.name: p.read_bytes() for p in ckpt.iterdir()}
    capsys.readouterr()
    assert main(["train", *RUN, "--checkpoint-dir", str(ckpt), "--resume",
                 "--report", str(tmp_path / "r2")]) == 2
    captured = capsys.readouterr()
    *skipped, error = captured.err.splitlines()
    assert len(skipped) == 2 and all(" skipped checkpoint " in line for line in skipped)
    assert error.startswith(f"nnbasics: error: no usable checkpoint in {ckpt}")
    assert "the files are left as they are" in captured.err
    assert "epoch 1/" not in captured.out + captured.err and "accuracy after" not in captured.out
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before
    assert not np.any([p.name.endswith(".tmp") for p in ckpt.iterdir()])
