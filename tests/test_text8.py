"""text8 download: checksums of the zip and of its member, bounded extraction (file:// only)."""

import hashlib
import io
import zipfile

import pytest

from nnbasics.io.text8 import TEXT8_MEMBER, TEXT8_URL, TEXT8_ZIP, download_text8

TEXT = b"anarchism originated as a term of abuse first used against early working class"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2006, 3, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


def _served(tmp_path, payload: bytes) -> str:
    served = tmp_path / "served"
    served.mkdir(exist_ok=True)
    (served / "text8.zip").write_bytes(payload)
    return (served / "text8.zip").as_uri()


def _checksums(payload: bytes, text: bytes = TEXT):
    return dict(zip_checksum=(_sha(payload), len(payload)),
                member=("text8", _sha(text), len(text)))


def test_pinned_checksums_are_those_of_the_distributed_files():
    assert TEXT8_URL == "http://mattmahoney.net/dc/text8.zip"
    assert TEXT8_ZIP == ("a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
                         31_344_016)
    assert TEXT8_MEMBER == ("text8",
                            "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7",
                            100_000_000)


def test_download_verifies_and_extracts_only_the_member(tmp_path):
    payload = _zip({"text8": TEXT, "../escape.txt": b"must not be written"})
    url = _served(tmp_path, payload)
    out = download_text8(tmp_path / "data", url=url, **_checksums(payload))
    assert out == tmp_path / "data" / "text8"
    assert out.read_bytes() == TEXT
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["text8", "text8.zip"]
    assert not (tmp_path / "escape.txt").exists()
    # already there and verified: the URL is not used again
    assert download_text8(tmp_path / "data", url="file:///nonexistent/text8.zip",
                          **_checksums(payload)) == out


def test_a_verified_zip_is_not_downloaded_again(tmp_path):
    payload = _zip({"text8": TEXT})
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "text8.zip").write_bytes(payload)
    out = download_text8(tmp_path / "data", url="file:///nonexistent/text8.zip",
                         **_checksums(payload))
    assert out.read_bytes() == TEXT


def test_a_zip_with_the_wrong_checksum_leaves_nothing(tmp_path):
    payload = _zip({"text8": TEXT})
    url = _served(tmp_path, payload)
    wrong = dict(_checksums(payload), zip_checksum=("0" * 64, len(payload)))
    with pytest.raises(OSError, match="checksum mismatch"):
        download_text8(tmp_path / "data", url=url, **wrong)
    assert list((tmp_path / "data").iterdir()) == []
    too_small = dict(_checksums(payload), zip_checksum=(_sha(payload), len(payload) - 1))
    with pytest.raises(OSError, match="larger than the expected"):
        download_text8(tmp_path / "data", url=url, **too_small)
    assert list((tmp_path / "data").iterdir()) == []


def test_a_member_with_the_wrong_content_is_refused(tmp_path):
    payload = _zip({"text8": TEXT})
    url = _served(tmp_path, payload)
    tampered = dict(_checksums(payload), member=("text8", "0" * 64, len(TEXT)))
    with pytest.raises(ValueError, match="member 'text8': checksum mismatch"):
        download_text8(tmp_path / "data", url=url, **tampered)
    assert not (tmp_path / "data" / "text8").exists()


def test_extraction_is_bounded_by_the_expected_size(tmp_path):
    # a member larger than expected (as a zip bomb would be) is refused on its declared size
    payload = _zip({"text8": TEXT + b" " * 10_000})
    url = _served(tmp_path, payload)
    expected = f"declares {len(TEXT) + 10_000} bytes, expected {len(TEXT)}"
    with pytest.raises(ValueError, match=expected):
        download_text8(tmp_path / "data", url=url, **_checksums(payload))
    assert not (tmp_path / "data" / "text8").exists()


def test_a_member_whose_declared_size_lies_is_read_only_up_to_the_limit(tmp_path):
    # the central directory says len(TEXT) bytes, the compressed stream holds far more
    big = TEXT + b"x" * 5_000_000
    payload = bytearray(_zip({"text8": big}))
    declared = len(big).to_bytes(4, "little")
    small = len(TEXT).to_bytes(4, "little")
    assert payload.count(declared) == 2  # local header and central directory entry
    payload = bytes(payload).replace(declared, small)
    url = _served(tmp_path, payload)
    # zipfile stops at the declared size; the CRC of the short read then fails
    with pytest.raises(ValueError, match=r"not a valid zip file \(Bad CRC-32"):
        download_text8(tmp_path / "data", url=url, **_checksums(payload))
    assert not (tmp_path / "data" / "text8").exists()


def test_a_zip_without_the_member_or_not_a_zip_is_refused(tmp_path):
    payload = _zip({"other.txt": TEXT})
    url = _served(tmp_path, payload)
    with pytest.raises(ValueError, match="no member 'text8'"):
        download_text8(tmp_path / "data", url=url, **_checksums(payload))
    junk = b"this is not a zip archive"
    url = _served(tmp_path, junk)
    with pytest.raises(ValueError, match="not a valid zip file"):
        download_text8(tmp_path / "data2", url=url, **_checksums(junk))


def test_reexported_by_the_datasets_module():
    from nnbasics.datasets import download_text8 as old_path  # the 0.1 module path

    from nnbasics.io.datasets import download_text8 as new_path

    assert old_path is new_path is download_text8
