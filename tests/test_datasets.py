"""Data loaders: digits, MNIST IDX (raw and gzipped) and its download, CSV, .npz, and their errors.

Every file is written by the test into ``tmp_path``; nothing touches the network (the download
is exercised through ``file://`` URLs).
"""

import gzip
import hashlib
import os
import re

import numpy as np
import pytest

from nnbasics.io.datasets import (
    MNIST_FILES,
    download_mnist,
    file_sha256,
    held_out_split,
    load_csv,
    load_csv_features,
    load_dataset,
    load_digits,
    load_idx,
    load_mnist,
    load_npz,
    save_idx,
)

# ----------------------------------------------------------------------------------------------
# digits
# ----------------------------------------------------------------------------------------------


def test_digits_is_scaled_to_unit_interval():
    d = load_digits()
    assert d.X.shape == (1797, 64) and d.X.dtype == np.float32
    assert d.X.min() == 0.0 and d.X.max() == 1.0  # raw pixels are 0..16
    assert d.image_shape == (8, 8) and d.X_test is None
    assert np.array_equal(np.unique(d.y), np.arange(10))


def test_load_dataset_digits():
    assert load_dataset("digits").name == "digits"


# ----------------------------------------------------------------------------------------------
# IDX
# ----------------------------------------------------------------------------------------------


def _idx_bytes(code: int, shape, payload: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, ">u4").tobytes() + payload


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, rng, dtype, compress):
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = save_idx(tmp_path / ("a.idx.gz" if compress else "a.idx"), a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    b = load_idx(path)
    assert b.dtype == np.dtype(dtype).newbyteorder("=") and b.shape == (3, 4, 5)
    np.testing.assert_array_equal(a, b)


def test_idx_hand_written_big_endian(tmp_path):
    # int16 values 1 and 258 as big-endian bytes: 00 01, 01 02
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_bytes(0x0B, (2,), b"\x00\x01\x01\x02"))
    np.testing.assert_array_equal(load_idx(path), [1, 258])


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file"):
        load_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize("head", [b"\x00\x01\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04", b"\x00"])
def test_idx_bad_magic(tmp_path, head):
    path = tmp_path / "x.idx"
    path.write_bytes(head + b"\x00\x00\x00\x02ab")
    with pytest.raises(ValueError, match=r"not an IDX file .bad magic number"):
        load_idx(path)


def test_idx_no_dimensions(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(ValueError, match=r"no dimensions"):
        load_idx(path)


def test_idx_truncated_header(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    with pytest.raises(ValueError, match=r"truncated IDX header"):
        load_idx(path)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("delta, word", [(-1, "holds 5 bytes"), (+1, "holds 7 bytes")])
def test_idx_data_size_must_match_header(tmp_path, compress, delta, word):
    raw = _idx_bytes(0x08, (2, 3), bytes(range(6 + delta)))
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError, match=f"declares shape \\(2, 3\\) \\(6 bytes\\).*{word}"):
        load_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_huge_header_is_refused_before_allocating(tmp_path, compress, monkeypatch):
    # 60000 x 100000 x 100000 bytes declared, 10 bytes present: refused from the header alone
    raw = _idx_bytes(0x08, (60000, 100000, 100000), b"0123456789")
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError, match=r"refusing more than 4 GiB"):
        load_idx(path)
    # a plausible size that the file does not hold: refused before any data read
    raw = _idx_bytes(0x08, (1000, 28, 28), b"0123456789")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    import nnbasics.io.datasets as ds

    def no_read(*args):
        raise AssertionError("data read although the header disagrees with the file size")

    monkeypatch.setattr(ds, "_read_exactly", no_read)
    with pytest.raises(ValueError, match=r"784000 bytes.*holds 10 bytes"):
        load_idx(path)


def test_idx_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(_idx_bytes(0x08, (64,), bytes(range(64))), mtime=0))
    data[12:20] = b"\xff" * 8  # inside the deflate stream; the trailer (ISIZE) stays right
    path = tmp_path / "x.idx.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt gzip data"):
        load_idx(path)


def test_idx_truncated_gzip(tmp_path):
    data = gzip.compress(_idx_bytes(0x08, (64,), bytes(range(64))), mtime=0)
    path = tmp_path / "x.idx.gz"
    path.write_bytes(data[:15])
    with pytest.raises(ValueError, match=r"truncated gzip file \(15 bytes\)"):
        load_idx(path)
    path.write_bytes(data[:-9] + data[-4:])  # stream cut short, trailer (ISIZE) kept
    with pytest.raises(ValueError, match=r"corrupt gzip data"):
        load_idx(path)


def _write_mnist(directory, rng, n_train=12, n_test=5, compress=True, rows=4, cols=3):
    suffix = ".gz" if compress else ""
    images = rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8)
    labels = (np.arange(n_train) % 10).astype(np.uint8)
    test_images = rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8)
    test_labels = (np.arange(n_test) % 10).astype(np.uint8)
    save_idx(directory / f"train-images-idx3-ubyte{suffix}", images)
    save_idx(directory / f"train-labels-idx1-ubyte{suffix}", labels)
    save_idx(directory / f"t10k-images-idx3-ubyte{suffix}", test_images)
    save_idx(directory / f"t10k-labels-idx1-ubyte{suffix}", test_labels)
    return images, labels, test_images, test_labels


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_directory(tmp_path, rng, compress):
    images, labels, test_images, test_labels = _write_mnist(tmp_path, rng, compress=compress)
    d = load_dataset(str(tmp_path))
    assert d.image_shape == (4, 3)  # rows, cols from the header, not a guess
    np.testing.assert_allclose(d.X, images.reshape(12, 12) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y, labels)
    np.testing.assert_allclose(d.X_test, test_images.reshape(5, 12) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test, test_labels)
    assert d.X.dtype == np.float32 and d.y.dtype == np.int64


def test_mnist_missing_file(tmp_path, rng):
    _write_mnist(tmp_path, rng)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no such directory"):
        load_mnist(tmp_path / "nope")


def test_mnist_images_and_labels_disagree(tmp_path, rng):
    _write_mnist(tmp_path, rng)
    save_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match=r"holds 12 images but .* holds 11 labels"):
        load_mnist(tmp_path)


def test_mnist_labels_must_be_a_vector(tmp_path, rng):
    _write_mnist(tmp_path, rng)
    save_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros((12, 1), np.uint8))
    with pytest.raises(ValueError, match=r"expected labels of shape \(N,\)"):
        load_mnist(tmp_path)


def test_mnist_train_and_test_pixels_disagree(tmp_path, rng):
    _write_mnist(tmp_path, rng)
    save_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((5, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"training images have 12 pixels, test images 4"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------------------------
# download (file:// mirrors; never the network)
# ----------------------------------------------------------------------------------------------


def test_mnist_checksums_table_is_well_formed():
    assert len(MNIST_FILES) == 4
    for name, (sha, size) in MNIST_FILES.items():
        assert name.endswith("-ubyte.gz") and len(sha) == 64 and int(sha, 16) >= 0 and size > 0


def _fake_mirror(tmp_path, content: bytes):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "fake-idx1-ubyte.gz").write_bytes(content)
    return mirror.as_uri() + "/"


def test_download_verifies_checksum(tmp_path):
    content = gzip.compress(_idx_bytes(0x08, (3,), b"\x01\x02\x03"), mtime=0)
    url = _fake_mirror(tmp_path, content)
    table = {"fake-idx1-ubyte.gz": (hashlib.sha256(content).hexdigest(), len(content))}
    out = download_mnist(tmp_path / "data", mirrors=[url], files=table)
    target = out / "fake-idx1-ubyte.gz"
    assert target.read_bytes() == content and file_sha256(target) == table[target.name][0]
    np.testing.assert_array_equal(load_idx(target), [1, 2, 3])
    # a file already present with the right checksum is kept (the mirror is not asked again)
    download_mnist(tmp_path / "data", mirrors=["file:///nonexistent/"], files=table)


def test_download_rejects_wrong_checksum_and_leaves_nothing(tmp_path):
    content = b"not the real file"
    url = _fake_mirror(tmp_path, content)
    wrong = {"fake-idx1-ubyte.gz": ("0" * 64, len(content))}
    with pytest.raises(OSError, match=r"checksum mismatch"):
        download_mnist(tmp_path / "data", mirrors=[url], files=wrong)
    assert list((tmp_path / "data").iterdir()) == []  # no partial or temporary file left
    too_short = {"fake-idx1-ubyte.gz": (hashlib.sha256(content).hexdigest(), len(content) - 1)}
    with pytest.raises(OSError, match=r"larger than the expected"):
        download_mnist(tmp_path / "data", mirrors=[url], files=too_short)


def test_download_replaces_a_corrupt_local_file_and_tries_mirrors_in_order(tmp_path):
    content = b"\x1f\x8bpretend"
    url = _fake_mirror(tmp_path, content)
    table = {"fake-idx1-ubyte.gz": (hashlib.sha256(content).hexdigest(), len(content))}
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fake-idx1-ubyte.gz").write_bytes(b"corrupt")
    download_mnist(tmp_path / "data", mirrors=["file:///nonexistent/", url], files=table)
    assert (tmp_path / "data" / "fake-idx1-ubyte.gz").read_bytes() == content


# ----------------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------------


def test_csv_label_by_name(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,species,b\n1,cat,2\n3,dog,4\n5.5,cat,6\n", encoding="utf-8")
    d = load_csv(path, "species")
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5.5, 6]])
    assert d.y.tolist() == ["cat", "dog", "cat"] and d.X.dtype == np.float32


@pytest.mark.parametrize("column", [0, -3])
def test_csv_label_by_index_without_header(tmp_path, column):
    path = tmp_path / "d.csv"
    path.write_text("7,1,2\n3,3,4\n\n7,5,6\n", encoding="utf-8")  # blank lines are skipped
    d = load_csv(path, column)
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5, 6]])
    assert d.y.dtype == np.int64 and d.y.tolist() == [7, 3, 7]


def test_csv_header_detected_with_default_last_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,label\n0.5,1,0\n2,3,1\n", encoding="utf-8")
    d = load_dataset(str(path))
    assert d.X.shape == (2, 2) and d.y.tolist() == [0, 1]


def test_csv_image_rows_get_an_image_shape(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,0,0,1,5\n0,1,1,0,6\n", encoding="utf-8")
    assert load_csv(path).image_shape == (2, 2)


@pytest.mark.parametrize("text, column, message", [
    ("a,b\n1,2\n3\n", -1, "line 3 has 1 fields, expected 2"),
    ("a,b\n1,2\nx,3\n", -1, "line 3: feature 'x' is not a number"),
    ("a,b\n1,2\n3,\n", -1, "line 3: the label field is empty"),
    ("a,b\n1,2\n", "c", "no column named 'c'"),
    ("1,2\n3,4\n", "label", "no column named 'label'"),
    ("1,2\n3,4\n", 5, "out of range for 2 columns"),
    ("a,b\n", -1, "no data rows"),
    ("\n\n", -1, "no rows"),
    ("a,b\nnan,1\n", -1, "NaN or infinity"),
    ("a,b\n\n\n1,2\n\nx,3\n", -1, "line 6: feature 'x' is not a number"),  # blank lines count
    ("a,b\n1,2\n\n3\n", -1, "line 4 has 1 fields"),
    ("a;b\n1;2\n", -1, "has one field; a CSV needs features and a label"),
])
def test_csv_errors(tmp_path, text, column, message):
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_csv(path, column)


def test_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file"):
        load_csv(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------------------------
# npz
# ----------------------------------------------------------------------------------------------


def test_npz_with_images_and_test_split(tmp_path, rng):
    X = rng.random((6, 3, 2))
    X_test = rng.random((2, 3, 2))
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.arange(6) % 2, X_test=X_test, y_test=np.array([0, 1]))
    d = load_npz(path)
    assert d.image_shape == (3, 2) and d.X.shape == (6, 6) and d.X_test.shape == (2, 6)
    np.testing.assert_allclose(d.X, X.reshape(6, 6), rtol=1e-6)


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((3, 2))}, r"missing array\(s\) \['y'\]"),
    ({"X": np.zeros((3, 2)), "y": np.zeros(4)}, "3 feature rows but 4 labels"),
    ({"X": np.zeros(3), "y": np.zeros(3)}, "features must be 2-D"),
    ({"X": np.zeros((3, 2)), "y": np.zeros((3, 2))}, "labels must be 1-D"),
    ({"X": np.zeros((3, 2)), "y": np.array([0, np.nan, 1])}, "labels contain NaN"),
    ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, "empty"),
    ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, "X must be numeric"),
    ({"X": np.zeros((3, 2)), "y": np.zeros(3), "X_test": np.zeros((2, 5)),
      "y_test": np.zeros(2)}, "X has 2 features but X_test 5"),
    ({"X": np.zeros((3, 2)), "y": np.zeros(3), "X_test": np.zeros((2, 2))},
     "holds X_test without y_test"),
    ({"X": np.full((3, 2), 1e300), "y": np.zeros(3)}, "too large for float32"),
])
def test_npz_errors(tmp_path, arrays, message):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        load_npz(path)


def test_npz_never_unpickles(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"holds Python objects \(pickle\); refusing"):
        load_npz(path)


def test_npz_corrupt(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ValueError, match=r"d\.npz is not a valid \.npz of numeric arrays"):
        load_npz(path)


# ----------------------------------------------------------------------------------------------
# dispatch and splits
# ----------------------------------------------------------------------------------------------


def test_load_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such data set"):
        load_dataset(str(tmp_path / "nope.csv"))
    (tmp_path / "d.txt").write_text("1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown data format '\.txt'"):
        load_dataset(str(tmp_path / "d.txt"))


def test_held_out_split_is_stratified_and_reproducible():
    y = np.repeat(np.arange(4), 20)
    X = np.arange(80, dtype=np.float32)[:, None]
    a = held_out_split(X, y, 0.25, seed=3)
    b = held_out_split(X, y, 0.25, seed=3)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert np.bincount(a[3]).tolist() == [5, 5, 5, 5]  # 25% of every class
    assert sorted(np.concatenate([a[0][:, 0], a[2][:, 0]]).tolist()) == list(range(80))
    c = held_out_split(X, y, 0.25, seed=4)
    assert not np.array_equal(a[2], c[2])


def test_held_out_split_too_small():
    with pytest.raises(ValueError, match=r"cannot split off a test set"):
        held_out_split(np.zeros((1, 1)), np.array([0]), 0.1, seed=0)


def test_csv_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("label,a,b\n1,0.5,2\n0,1.5,3\n".encode("utf-8-sig"))
    data = load_csv(path, "label")
    np.testing.assert_array_equal(data.y, [1, 0])
    np.testing.assert_array_equal(data.X, [[0.5, 2], [1.5, 3]])


def test_csv_integer_labels_beyond_64_bits_are_kept_as_written(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,99999999999999999999999\n", encoding="utf-8")
    assert load_csv(path).y.tolist() == ["2", "99999999999999999999999"]


def test_csv_whole_number_labels_are_one_class_whatever_their_spelling(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("0.5,1\n0.25,1.0\n0.1,2\n0.3,2.0\n0.2,1e0\n")
    ds = load_csv(path)
    assert ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.y, [1, 1, 2, 2, 1])


def test_csv_numeric_labels_that_are_not_whole_stay_numbers(tmp_path):
    # a continuous target: numbers, so that a classifier refuses it as continuous, not dozens
    # of string classes
    path = tmp_path / "d.csv"
    path.write_text("1,0.5\n2,0.25\n3,1\n")
    ds = load_csv(path)
    assert ds.y.dtype == np.float64
    np.testing.assert_array_equal(ds.y, [0.5, 0.25, 1.0])


def test_csv_header_of_numbered_columns_is_a_header(tmp_path):
    # what pandas writes for DataFrame(X).assign(label=y).to_csv(index=False)
    path = tmp_path / "d.csv"
    path.write_text("0,1,label\n0.5,0.25,3\n0.1,0.2,4\n")
    ds = load_csv(path)
    assert ds.X.shape == (2, 2)
    np.testing.assert_array_equal(ds.y, [3, 4])


def test_csv_string_labels_keep_the_first_line_as_data(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("0.5,0.25,cat\n0.1,0.2,dog\n")
    assert load_csv(path).X.shape == (2, 2)


@pytest.mark.parametrize("text, match", [
    ('1.0,2.0,0\n1.0,2.0,"oops\n0.5,0.25,1\n', r"line \d+"),  # a quote left open
    ('1.0,"2.0\n3.0",0\n1.0,2.0,1\n', "spans several lines"),  # a quoted field across lines
    ("1," + "9" * 200_000 + ",0\n1,2,1\n", r"line 1: field larger than field limit"),
    ("1,2,0\n1," + "9" * 100_000 + ",1\n", r"line 2: feature '9{40}\.\.\. \(100000 characters\)'"
     r" is NaN or infinity, or beyond float64's range"),
    ("1,2,a\n1,2," + "b" * 100_000 + "\n", r"line 2: a label of 100000 characters"),
    ('1,2,a\n1,2,"b\nc"\n', r"line 3: a field spans several lines"),
    ("1,2\n  \n3,4\n", "line 2 has 1 fields, expected 2"),
])
def test_csv_bad_quoting_and_huge_fields_are_value_errors_naming_the_line(tmp_path, text, match):
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_csv(path)


def test_csv_not_utf8_and_features_beyond_float32_are_named(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("0.5,caf\xe9\n0.25,th\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.csv: not UTF-8"):
        load_csv(path)
    path = tmp_path / "big.csv"
    path.write_text("1e39,0\n1,1\n")
    with pytest.raises(ValueError, match="too large for float32"):
        load_csv(path)


def test_held_out_split_with_more_classes_than_held_out_rows_shuffles(rng):
    # 60 classes of 10 rows: a 10% split holds 60 rows (stratified), a 5% one 30 (shuffled)
    y = np.arange(600) % 60
    X = rng.standard_normal((600, 2))
    *_, y_held = held_out_split(X, y, 0.1, seed=0)
    assert len(np.unique(y_held)) == 60
    _, y_rest, _, y_held = held_out_split(X, y, 0.05, seed=0)
    assert len(y_held) == 30 and len(y_rest) == 570
    again = held_out_split(X, y, 0.05, seed=0)
    np.testing.assert_array_equal(again[3], y_held)  # still a function of the seed


def test_idx_multi_member_gzip_is_read_whole(tmp_path):
    # `cat a.gz b.gz` (or bgzip) makes a valid gzip whose trailer holds only the last member's
    # size: the size check counts every member instead of refusing the file
    raw = _idx_bytes(0x08, (10, 6), bytes(range(60)))
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(raw[:25], mtime=0) + gzip.compress(raw[25:], mtime=0))
    np.testing.assert_array_equal(load_idx(path), np.arange(60, dtype=np.uint8).reshape(10, 6))
    path.write_bytes(gzip.compress(raw[:25], mtime=0) + gzip.compress(raw[25:-1], mtime=0))
    with pytest.raises(ValueError, match=r"60 bytes\) but the file holds 59 bytes"):
        load_idx(path)


def test_mnist_with_no_images_says_so(tmp_path):
    save_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((0, 4, 3), np.uint8))
    save_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(0, np.uint8))
    with pytest.raises(ValueError, match="no images"):
        load_mnist(tmp_path)


def _peak_kib_of(code: str) -> int:
    """Peak resident memory (KiB) of a fresh interpreter running ``code`` (Linux: VmHWM)."""
    import subprocess
    import sys

    script = code + """
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM")))
"""
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                            text=True)
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")
@pytest.mark.parametrize("where", ["feature", "label"])
def test_csv_with_one_huge_field_is_refused_in_little_memory(tmp_path, where):
    # 1000 short rows and one field of 100,000 characters: 109 KB that the row-by-row reader of
    # nnbasics 0.1 turned into a (N, width) array of 100,000-character strings (3.5 GB)
    rows = ["0.5,0.25,1"] * 1000
    rows[500] = "0.5," + "9" * 100_000 + ",1" if where == "feature" else "0.5,0.25," + "x" * 100_000
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"wide\.csv: line 501: (feature|a label)"):
        load_csv(path)
    baseline = _peak_kib_of("import nnbasics.io.datasets")
    peak = _peak_kib_of(f"""
from nnbasics.io.datasets import load_csv
try:
    load_csv({str(path)!r})
except ValueError:
    pass
""")
    assert peak - baseline < 64 * 1024


def test_csv_whitespace_around_fields_and_windows_line_ends_are_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"x, y ,label\r\n 0.5 ,1, cat \r\n2,3,dog\r\n")
    ds = load_csv(path)
    np.testing.assert_array_equal(ds.X, [[0.5, 1], [2, 3]])
    assert ds.y.tolist() == ["cat", "dog"]


def test_csv_labels_in_words_after_numbers_are_all_read_as_text(tmp_path):
    # the first rows' labels are numbers, a later one is not: every label is then text
    path = tmp_path / "d.csv"
    path.write_text("0.5,1\n0.25,2\n0.75,other\n")
    assert load_csv(path).y.tolist() == ["1", "2", "other"]


def test_csv_reads_as_the_csv_module_does(tmp_path, rng):
    # quoted numbers, a tab delimiter, numeric labels: the C reader agrees with a plain parse
    X = rng.standard_normal((50, 4)).round(6)
    y = rng.integers(0, 3, 50)
    lines = ["\t".join([*(f'"{v}"' if j % 2 else repr(v) for j, v in enumerate(row)), str(c)])
             for row, c in zip(X.tolist(), y.tolist(), strict=True)]
    path = tmp_path / "d.csv"
    path.write_text("a\tb\tc\td\tlabel\n" + "\n".join(lines) + "\n")
    ds = load_csv(path, "label", delimiter="\t")
    np.testing.assert_array_equal(ds.X, X.astype(np.float32))
    np.testing.assert_array_equal(ds.y, y)


def test_csv_rows_longer_than_the_header_are_refused(tmp_path):
    # every data row has a column the header does not name: an error, not a column dropped
    for labels in ("1", "cat"):
        path = tmp_path / "d.csv"
        path.write_text(f"a,b,label\n1,2,{labels},9\n3,4,{labels},9\n")
        with pytest.raises(ValueError, match="line 2 has 4 fields, expected 3"):
            load_csv(path, "label")


def test_csv_features_with_or_without_the_label_column(tmp_path):
    # prediction data: the model's 2 features, with a header or not, or with the label too
    for text in ("a,b\n1,2\n3,4\n", "1,2\n3,4\n", "a,b,label\n1,2,x\n3,4,y\n"):
        path = tmp_path / "p.csv"
        path.write_text(text)
        X = load_csv_features(path, n_features=2)
        assert X.dtype == np.float32
        np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    path.write_text("label,a,b\ncat,1,2\n")
    np.testing.assert_array_equal(load_csv_features(path, 2, label_column="label"), [[1, 2]])


@pytest.mark.parametrize("text, message", [
    ("1,2,3,4\n", "line 1 has 4 fields; the model takes 2 features (or 3 columns with a label)"),
    ("a,b\n1,2\nx,3\n", "line 3: feature 'x' is not a number"),
    ("a,b\n1,2\n3\n", "line 3 has 1 fields, expected 2"),
    ("a,b\n", "no data rows"),
])
def test_csv_features_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_csv_features(path, n_features=2)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")
def test_csv_memory_stays_within_three_times_the_file(tmp_path, rng):
    # the float64 table and the float32 result; nnbasics 0.1 took 17x (benchmarks/RESULTS.md)
    path = tmp_path / "big.csv"
    block = np.column_stack([rng.random((20_000, 32)), rng.integers(0, 10, 20_000)])
    np.savetxt(path, block, delimiter=",", fmt=["%.6f"] * 32 + ["%d"])
    size_kib = path.stat().st_size / 1024
    baseline = _peak_kib_of("import nnbasics.io.datasets")
    peak = _peak_kib_of(f"from nnbasics.io.datasets import load_csv; load_csv({str(path)!r})")
    assert peak - baseline < 3 * size_kib
