"""The .npz + JSON format: round trip, atomic writes, and clear errors for bad files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from nnbasics.io.serialization import atomic_write, load_arrays, save_arrays


def _save(path, **arrays):
    arrays = arrays or {"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                        "labels": np.array(["a", "b"])}
    return save_arrays(path, arrays, {"note": "hello", "sizes": [1, 2]}, kind="test")


def test_round_trip(tmp_path):
    path = _save(tmp_path / "f.npz")
    arrays, meta = load_arrays(path, kind="test")
    np.testing.assert_array_equal(arrays["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert arrays["w"].dtype == np.float32
    assert arrays["labels"].tolist() == ["a", "b"]
    assert meta["note"] == "hello" and meta["sizes"] == [1, 2]
    assert meta["format"] == "nnbasics" and meta["kind"] == "test" and meta["version"] == 1


def test_loadable_without_pickle(tmp_path):
    path = _save(tmp_path / "f.npz")
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["__metadata__"][()]))
        assert meta["kind"] == "test"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_arrays(tmp_path / "nope.npz")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_file(tmp_path, keep):
    path = _save(tmp_path / "f.npz", big=np.arange(5000, dtype=np.float64))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"truncated or corrupt|not a valid|not an nnbasics"):
        load_arrays(path)


def test_corrupted_bytes(tmp_path):
    path = _save(tmp_path / "f.npz", big=np.arange(5000, dtype=np.float64))
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # one flipped byte in the middle of the array data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        load_arrays(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "f.npz"
    path.write_text("just text")
    with pytest.raises(ValueError, match="not a valid nnbasics file"):
        load_arrays(path)


def test_foreign_npz(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, X=np.zeros(3))
    with pytest.raises(ValueError, match="not an nnbasics file"):
        load_arrays(path)


def test_wrong_kind_and_newer_version(tmp_path):
    path = _save(tmp_path / "f.npz")
    with pytest.raises(ValueError, match="holds a 'test', not a 'model'"):
        load_arrays(path, kind="model")
    save_arrays(path, {"a": np.zeros(1)}, {}, kind="test", version=7)
    with pytest.raises(ValueError, match="version 7"):
        load_arrays(path)


def test_object_arrays_refused_on_write_and_read(tmp_path):
    with pytest.raises(TypeError, match="object dtype"):
        save_arrays(tmp_path / "f.npz", {"o": np.array([{}, 1], dtype=object)}, {}, kind="t")
    path = tmp_path / "g.npz"
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("o.npy", buf.getvalue())
        meta = io.BytesIO()
        np.save(meta, np.array(json.dumps({"format": "nnbasics", "kind": "t", "version": 1})))
        zf.writestr("__metadata__.npy", meta.getvalue())
    with pytest.raises(ValueError, match="pickle"):
        load_arrays(path)


def test_header_declaring_more_data_than_present_is_refused_before_allocating(tmp_path):
    path = tmp_path / "f.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("huge.npy", header.getvalue() + b"\0" * 16)
        meta = io.BytesIO()
        np.save(meta, np.array(json.dumps({"format": "nnbasics", "kind": "t", "version": 1})))
        zf.writestr("__metadata__.npy", meta.getvalue())
    with pytest.raises(ValueError, match=r"declares .* bytes"):
        load_arrays(path)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    path = _save(tmp_path / "f.npz")
    before = path.read_bytes()

    def failing(fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, failing)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]  # no temporary left behind


def test_atomic_write_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory does not exist"):
        _save(tmp_path / "no" / "f.npz")


def test_damaged_compression_method_is_a_clear_error(tmp_path):
    # zipfile raises NotImplementedError for an unknown compression method: still "corrupt"
    path = _save(tmp_path / "f.npz", big=np.arange(50, dtype=np.float64))
    data = bytearray(path.read_bytes())
    local_header = data.find(b"PK\x03\x04")
    data[local_header + 8] = 99  # the method field of the first member: no such method
    central = data.find(b"PK\x01\x02")
    data[central + 10] = 99  # and its central-directory copy
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt|not a valid"):
        load_arrays(path)


def test_atomic_file_refuses_a_directory_and_names_the_target_of_a_failed_rename(tmp_path,
                                                                                monkeypatch):
    from nnbasics.io.serialization import atomic_file

    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        with atomic_file(tmp_path / "d") as fh:
            fh.write(b"x")
    assert os.listdir(tmp_path) == ["d"]

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as caught:
        with atomic_file(tmp_path / "f.bin") as fh:
            fh.write(b"x")
    assert caught.value.filename == str(tmp_path / "f.bin")
    assert os.listdir(tmp_path) == ["d"]  # no temporary file left


@pytest.mark.parametrize("version", [True, 0, -1, "1"])
def test_versions_that_are_not_positive_integers_are_refused(tmp_path, version):
    path = _save(tmp_path / "f.npz", a=np.zeros(2))
    arrays, meta = load_arrays(path)
    meta["version"] = version
    np.savez(path, __metadata__=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ValueError, match="format version"):
        load_arrays(path)


def test_atomic_file_takes_the_umask_or_the_replaced_files_mode(tmp_path):
    from nnbasics.io.serialization import atomic_file

    old_umask = os.umask(0o077)
    try:
        with atomic_file(tmp_path / "new.bin") as fh:
            assert os.umask(0o077) == 0o077  # the process umask is never changed meanwhile
            fh.write(b"x")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.bin"
    shared.write_bytes(b"old")
    shared.chmod(0o644)
    with atomic_file(shared) as fh:
        fh.write(b"new")
    assert shared.read_bytes() == b"new" and shared.stat().st_mode & 0o777 == 0o644
