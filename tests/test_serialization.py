"""The .npz + JSON format: round trip, atomic writes, and clear errors for bad files."""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

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


# ----------------------------------------------------------------------------------------------
# hostile files: every claim a file makes is checked before it is believed
# ----------------------------------------------------------------------------------------------


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


_META = _npy(np.array(json.dumps({"format": "nnbasics", "kind": "t", "version": 1})))


def _raw_zip(members: list[tuple]) -> bytes:
    """A zip written by hand, so that its directory can lie: ``(name, payload, method,
    claimed_size[, crc])`` per member, ``payload`` already compressed for method 8 (deflate).
    Sizes go in ZIP64 extra fields so a claim can exceed 4 GiB."""
    local, central, offset = b"", b"", 0
    for name, payload, method, claimed, *given_crc in members:
        raw = name.encode()
        crc = given_crc[0] if given_crc else (
            zlib.crc32(payload) if method == 0 else _inflated_crc(payload))
        extra = struct.pack("<HHQQ", 1, 16, claimed, len(payload))
        header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, method, 0, 0, crc,
                             0xFFFFFFFF, 0xFFFFFFFF, len(raw), len(extra))
        local += header + raw + extra + payload
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, method, 0, 0,
                               crc, 0xFFFFFFFF, 0xFFFFFFFF, len(raw), len(extra), 0, 0, 0, 0,
                               offset) + raw + extra
        offset = len(local)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(local), 0)
    return local + central + end


def _inflated_crc(payload: bytes) -> int:
    """CRC-32 of a raw deflate stream's content, inflated 1 MB at a time (a bomb stays small)."""
    inflater, crc, pending = zlib.decompressobj(-15), 0, payload
    while pending:
        crc = zlib.crc32(inflater.decompress(pending, 1 << 20), crc)
        pending = inflater.unconsumed_tail
    return zlib.crc32(inflater.flush(), crc)


def _zeros_bomb(header: bytes, n_zeros: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``header`` and ``n_zeros`` zero bytes (a multiple of 16 MiB),
    and its CRC-32, built without holding the zeros: after a full flush deflate forgets its
    history, so every 16 MiB block of zeros compresses to the same bytes."""
    block = bytes(1 << 24)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(n_zeros // len(block)):
        crc = zlib.crc32(block, crc)
    return start + repeat * (n_zeros // len(block)) + compressor.flush(), crc


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def test_hand_written_zip_reads_when_it_tells_the_truth(tmp_path):
    # the builder of the hostile files below makes valid files when its claims are true
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    path = tmp_path / "f.npz"
    path.write_bytes(_raw_zip([("a.npy", _npy(a), 0, len(_npy(a))),
                               ("__metadata__.npy", _deflate(_META), 8, len(_META))]))
    arrays, _ = load_arrays(path)
    np.testing.assert_array_equal(arrays["a"], a)


def test_directory_claiming_a_terabyte_in_a_small_file_is_refused(tmp_path):
    # a 1 TB array: its .npy header and the zip directory agree, and both lie about the file
    claim = 2**37 * 8
    body = _npy_header((2**37,)) + b"\0" * 14_000
    path = tmp_path / "liar.npz"
    path.write_bytes(_raw_zip([("w.npy", body, 0, claim + len(_npy_header((2**37,)))),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    assert path.stat().st_size < 20_000
    with pytest.raises(ValueError, match=r"liar\.npz: stored member 'w\.npy' claims"):
        load_arrays(path)
    # the same claim on a deflated member: refused by the inflation bound
    path.write_bytes(_raw_zip([("w.npy", _deflate(body), 8, claim + len(_npy_header((2**37,)))),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    with pytest.raises(ValueError, match=r"liar\.npz: its members claim \d+ bytes uncompressed"):
        load_arrays(path)


def test_member_beyond_the_end_of_the_file_is_refused(tmp_path):
    body = _npy(np.zeros(1000))
    data = _raw_zip([("w.npy", body, 0, len(body)), ("__metadata__.npy", _META, 0, len(_META))])
    path = tmp_path / "cut.npz"
    # drop half of w's data but keep a directory describing all of it (offsets rewritten)
    cut = 4000
    start = data.index(b"PK\x01\x02")
    central = bytearray(data[start:data.index(b"PK\x05\x06")])
    meta_entry = central.index(b"PK\x01\x02", 4)
    old_offset = struct.unpack_from("<I", central, meta_entry + 42)[0]
    struct.pack_into("<I", central, meta_entry + 42, old_offset - cut)
    local = data[:start]
    w_end = local.index(b"PK\x03\x04", 4)
    local = local[:w_end - cut] + local[w_end:]
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 2, 2, len(central), len(local), 0)
    path.write_bytes(local + bytes(central) + end)
    with pytest.raises(ValueError, match=r"cut\.npz"):
        load_arrays(path)


def test_npy_header_disagreeing_with_the_member_size_is_refused(tmp_path):
    # the header says (1000,) float64; the member holds 10 floats
    body = _npy_header((1000,)) + np.zeros(10).tobytes()
    path = tmp_path / "shape.npz"
    path.write_bytes(_raw_zip([("w.npy", body, 0, len(body)),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    with pytest.raises(ValueError, match=r"shape\.npz: member 'w\.npy' declares shape \(1000,\)"):
        load_arrays(path)


def test_deflated_member_inflating_beyond_its_claim_is_corrupt(tmp_path):
    # the directory claims the size of a 10-float array; the stream inflates to 1000 floats
    small = _npy(np.zeros(10))
    big = _npy_header((10,)) + np.zeros(1000).tobytes()
    path = tmp_path / "more.npz"
    path.write_bytes(_raw_zip([("w.npy", _deflate(big), 8, len(small)),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    with pytest.raises(ValueError, match=r"more\.npz.*corrupt"):
        load_arrays(path)


def test_unsupported_compression_and_duplicate_members_are_refused(tmp_path):
    path = tmp_path / "f.npz"
    path.write_bytes(_raw_zip([("w.npy", _META, 12, len(_META)),  # 12: bzip2
                               ("__metadata__.npy", _META, 0, len(_META))]))
    with pytest.raises(ValueError, match="compression method 12"):
        load_arrays(path)
    path.write_bytes(_raw_zip([("__metadata__.npy", _META, 0, len(_META))] * 2))
    with pytest.raises(ValueError, match="appears twice"):
        load_arrays(path)


_PEAK_SCRIPT = """
import sys
from nnbasics.io.serialization import read_npz
try:
    read_npz(sys.argv[1])
except ValueError as exc:
    print("refused:", exc)
else:
    print("read")
# VmHWM: this process's peak resident memory (ru_maxrss would count the forking parent's)
with open("/proc/self/status") as status:
    print("peak_kib", next(line.split()[1] for line in status if line.startswith("VmHWM")))
"""


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                                reason="peak memory is read from /proc/self/status (Linux)")


def _peak_kib(path) -> tuple[str, int]:
    """What reading ``path`` in a fresh interpreter says, and its peak memory in KiB."""
    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path)], check=True,
                            capture_output=True, text=True)
    *message, peak = result.stdout.strip().splitlines()
    return "\n".join(message), int(peak.split()[1])


@needs_proc
def test_zip_bomb_is_refused_before_inflating_with_little_memory(tmp_path):
    # 2 GiB of zeros deflates to ~2 MB (deflate's limit is ~1032:1)
    header = _npy_header((2**28,))
    payload, crc = _zeros_bomb(header, 2**31)
    path = tmp_path / "bomb.npz"
    path.write_bytes(_raw_zip([("w.npy", payload, 8, len(header) + 2**31, crc),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    assert path.stat().st_size < 3 * 2**20
    message, peak_kib = _peak_kib(path)
    assert message.startswith(f"refused: {path}: its members claim")
    assert peak_kib < 256 * 1024  # well under 1 GiB: nothing was inflated


@needs_proc
def test_bomb_that_understates_its_size_inflates_no_further_than_its_claim(tmp_path):
    # the directory claims 8 MB; the stream would inflate to 1 GiB: reading stops at the claim
    header = _npy_header((2**20,))
    payload, crc = _zeros_bomb(header, 2**30)
    path = tmp_path / "quiet_bomb.npz"
    path.write_bytes(_raw_zip([("w.npy", payload, 8, len(header) + 2**23, crc),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    message, peak_kib = _peak_kib(path)
    assert message.startswith("refused:") and "quiet_bomb.npz" in message
    assert peak_kib < 256 * 1024


@needs_proc
def test_directory_lying_about_a_terabyte_costs_no_memory(tmp_path):
    body = _npy_header((2**37,)) + b"\0" * 14_000
    path = tmp_path / "liar.npz"
    path.write_bytes(_raw_zip([("w.npy", _deflate(body), 8, 2**40),
                               ("__metadata__.npy", _META, 0, len(_META))]))
    message, peak_kib = _peak_kib(path)
    assert message.startswith("refused:") and "liar.npz" in message
    assert peak_kib < 256 * 1024


def test_fortran_order_and_big_endian_arrays_read_as_numpy_writes_them(tmp_path):
    a = np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3))
    path = save_arrays(tmp_path / "f.npz", {"a": a, "s": np.array(3.5)}, {}, kind="t")
    arrays, _ = load_arrays(path)
    np.testing.assert_array_equal(arrays["a"], a)
    assert arrays["a"].dtype == np.dtype(">i4") and arrays["s"].shape == ()
