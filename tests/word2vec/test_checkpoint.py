"""Resumable training: checkpoints at epoch ends, a run killed by SIGKILL and resumed gives the
uninterrupted run's vectors bit for bit (workers=1); what a second ``train()`` does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnbasics
from nnbasics.word2vec import KeyedVectors, Word2Vec
from nnbasics.word2vec.model import CHECKPOINT_NAME

SETTINGS = dict(vector_size=12, window=3, min_count=1, negative=3, epochs=4, workers=1, seed=7,
                batch_words=200)


@pytest.fixture
def corpus(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(150)) + "\n",
                    encoding="utf-8")
    return path


def _killed_run(corpus: Path, checkpoint_dir: Path, sg: int, hs: int) -> int:
    """Train in a child process that SIGKILLs itself after epoch 2's checkpoint; its exit code."""
    src = Path(nnbasics.__file__).resolve().parents[1]
    script = textwrap.dedent(f"""
        import os, signal
        from nnbasics.word2vec import KeyedVectors, Word2Vec

        class KillAfterEpoch2:
            def on_epoch_end(self, model):
                if model.epochs_trained == 2:
                    os.kill(os.getpid(), signal.SIGKILL)

        Word2Vec(corpus_file={str(corpus)!r}, sg={sg}, hs={hs},
                 checkpoint_dir={str(checkpoint_dir)!r}, callbacks=[KillAfterEpoch2()],
                 progress=False, **{SETTINGS!r})
        """)
    env = dict(os.environ, PYTHONPATH=str(src) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", script], env=env, timeout=600).returncode


@pytest.mark.parametrize(("sg", "hs"), [(1, 0), (0, 0), (1, 1)], ids=["sg", "cbow", "sg-hs"])
def test_a_run_killed_by_sigkill_and_resumed_is_bit_identical(tmp_path, corpus, sg, hs):
    checkpoint_dir = tmp_path / "ckpt"
    assert _killed_run(corpus, checkpoint_dir, sg, hs) == -signal.SIGKILL
    killed = Word2Vec.load(checkpoint_dir / CHECKPOINT_NAME)
    assert killed.epochs_trained == 2  # the checkpoint of the last finished epoch
    resumed = Word2Vec.resume(checkpoint_dir, corpus_file=corpus)
    whole = Word2Vec(corpus_file=corpus, sg=sg, hs=hs, progress=False, **SETTINGS)
    assert resumed.epochs_trained == whole.epochs_trained == 4
    np.testing.assert_array_equal(resumed.wv.vectors, whole.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, whole.syn1neg)
    if hs:
        np.testing.assert_array_equal(resumed.syn1, whole.syn1)
    assert resumed.epoch_losses == whole.epoch_losses
    # and the checkpoint now holds the finished run: resuming it again changes nothing
    again = Word2Vec.resume(checkpoint_dir, corpus_file=corpus)
    np.testing.assert_array_equal(again.wv.vectors, whole.wv.vectors)


def test_a_checkpoint_is_written_at_every_epoch_end(tmp_path, corpus):
    seen = []

    class Record:
        def on_epoch_end(self, model):
            state = Word2Vec.load(tmp_path / "c" / CHECKPOINT_NAME)
            seen.append((state.epochs_trained, state._run_state["epochs_done"],
                         np.array_equal(state.wv.vectors, model.wv.vectors)))

    Word2Vec(corpus_file=corpus, checkpoint_dir=tmp_path / "c", callbacks=[Record()],
             progress=False, **SETTINGS)
    assert seen == [(1, 1, True), (2, 2, True), (3, 3, True), (4, 4, True)]


def test_resume_refuses_what_it_cannot_continue(tmp_path, corpus):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Word2Vec.resume(tmp_path / "nothing", corpus_file=corpus)
    model = Word2Vec(corpus_file=corpus, progress=False, **dict(SETTINGS, epochs=1))
    (tmp_path / "saved").mkdir()
    model.save(tmp_path / "saved" / CHECKPOINT_NAME)
    with pytest.raises(ValueError, match="not a checkpoint"):
        Word2Vec.resume(tmp_path / "saved", corpus_file=corpus)
    Word2Vec(corpus_file=corpus, checkpoint_dir=tmp_path / "c", progress=False, **SETTINGS)
    other = tmp_path / "other.txt"
    other.write_text("w1 w2 w3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="same corpus"):
        Word2Vec.resume(tmp_path / "c", corpus_file=other)


def test_a_second_train_starts_its_own_schedule_at_start_alpha(corpus):
    model = Word2Vec(corpus_file=corpus, progress=False, **dict(SETTINGS, epochs=1))
    first_rates = []
    trainer_of = model._batch_trainer

    def recording_trainer():
        trainer, n_parallel = trainer_of()

        def record(tokens, ends, alpha_start, alpha_end, seed, n_threads):
            first_rates.append(alpha_start)
            return trainer(tokens, ends, alpha_start, alpha_end, seed, n_threads)

        return record, n_parallel

    model._batch_trainer = recording_trainer
    model.train(corpus_file=corpus, epochs=1)
    assert first_rates[0] == model.alpha  # not where the constructor's schedule ended
    first_rates.clear()
    model.train(corpus_file=corpus, epochs=1, start_alpha=0.01, end_alpha=0.001)
    assert first_rates[0] == 0.01 and min(first_rates) > 0.001


def test_cli_train_resumes_a_killed_run(tmp_path, corpus):
    from nnbasics.cli.main import main

    checkpoint_dir = tmp_path / "ckpt"
    assert _killed_run(corpus, checkpoint_dir, 1, 0) == -signal.SIGKILL
    out = tmp_path / "v.bin"
    args = ["word2vec", "train", str(corpus), "--out", str(out), "--checkpoint-dir",
            str(checkpoint_dir), "--no-progress"]
    assert main(args) == 2  # without --resume an existing checkpoint is not overwritten
    assert main([*args, "--resume"]) == 0
    whole = Word2Vec(corpus_file=corpus, sg=1, progress=False, **SETTINGS)
    written = KeyedVectors.load_word2vec_format(out, binary=True)
    assert written.index_to_key == whole.wv.index_to_key
    np.testing.assert_array_equal(written.vectors, whole.wv.vectors)
