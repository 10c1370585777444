"""Outputs are checked before the work: a place that takes no files fails at once, naming the
option and the path the user gave (not a temporary file), with nothing trained."""

import os
import time

import pytest

from nnbasics.cli.main import main
from nnbasics.cli.outputs import check_output_directory, check_output_file

# /proc takes no new files, whatever the permission bits say and whoever we are (root too)
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")


def test_a_writable_place_passes_and_the_probe_leaves_nothing(tmp_path):
    check_output_file(tmp_path / "m.npz", "--save")
    check_output_directory(tmp_path / "new" / "deeper", "--report")
    assert list(tmp_path.iterdir()) == []  # neither the probe file nor the directory is left


@pytest.mark.parametrize("path, message", [
    ("", "--save is empty"),
    ("{tmp}", "is a directory; give a file name"),
    ("{tmp}/no/m.npz", "--save {tmp}/no/m.npz: directory {tmp}/no does not exist"),
])
def test_bad_output_files_are_named(tmp_path, path, message):
    with pytest.raises(ValueError, match=message.format(tmp=tmp_path)):
        check_output_file(path.format(tmp=tmp_path), "--save")


@needs_proc
def test_a_place_that_takes_no_files_is_named_with_the_users_path():
    with pytest.raises(ValueError, match=r"--out /proc/v\.bin: cannot create files in /proc"):
        check_output_file("/proc/v.bin", "--out")
    with pytest.raises(ValueError, match=r"--report /proc/r/s: cannot create files in /proc"):
        check_output_directory("/proc/r/s", "--report")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into a read-only directory")
def test_a_read_only_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match=r"cannot create files in .*locked \(Permission"):
            check_output_file(locked / "m.npz", "--save")
    finally:
        locked.chmod(0o700)


@needs_proc
@pytest.mark.parametrize("option, value", [
    ("--save", "/proc/m.npz"),
    ("--report", "/proc/report"),
    ("--checkpoint-dir", "/proc/checkpoints"),
])
def test_train_refuses_an_unwritable_output_before_reading_data(tmp_path, capsys, option, value):
    args = ["train", "--no-progress", "--report", str(tmp_path / "r"), "--epochs", "500",
            option, value]
    start = time.perf_counter()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nnbasics: error: {option} {value}: cannot create files in /proc")
    assert time.perf_counter() - start < 5  # nothing was trained
    assert not (tmp_path / "r").exists()


@needs_proc
@pytest.mark.parametrize("option", ["--out", "--save-model"])
def test_word2vec_train_refuses_an_unwritable_output_before_training(tmp_path, capsys, option):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d e f\n" * 2000, encoding="utf-8")
    out = ["--out", str(tmp_path / "v.bin")] if option == "--save-model" else []
    args = ["word2vec", "train", str(corpus), "--min-count", "1", "--no-progress", *out,
            option, "/proc/v.bin" if option == "--out" else "/proc/m.npz"]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "cannot create files in /proc" in captured.err and option in captured.err
    assert captured.out == ""  # refused before the run started


def test_word2vec_warns_before_a_full_softmax_over_a_large_vocabulary():
    from nnbasics.cli.word2vec import FULL_SOFTMAX_WARN_WORDS, full_softmax_warning

    big = FULL_SOFTMAX_WARN_WORDS + 1
    message = full_softmax_warning(0, 0, 60_000, 100)
    assert message.startswith("nnbasics: warning: --negative 0 without --hs trains the full")
    assert "all 60000 output vectors" in message and "10000x" in message
    assert full_softmax_warning(0, 0, FULL_SOFTMAX_WARN_WORDS, 100) is None  # small: no noise
    assert full_softmax_warning(5, 0, big, 100) is None  # negative sampling
    assert full_softmax_warning(0, 1, big, 100) is None  # hierarchical softmax


def test_word2vec_train_prints_the_full_softmax_warning_to_stderr(tmp_path, capsys):
    words = [f"w{i}" for i in range(1200)]
    corpus = tmp_path / "c.txt"
    corpus.write_text(" ".join(words) + "\n", encoding="utf-8")
    assert main(["word2vec", "train", str(corpus), "--min-count", "1", "--negative", "0",
                 "--epochs", "1", "--size", "4", "--workers", "1", "--no-progress",
                 "--out", str(tmp_path / "v.txt")]) == 0
    captured = capsys.readouterr()
    assert "warning: --negative 0 without --hs trains the full softmax" in captured.err
    assert "warning" not in captured.out
