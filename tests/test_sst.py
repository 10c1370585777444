"""The Stanford Sentiment Treebank reader and downloader, on small files the tests write."""

import hashlib
import io
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.io import sst as sst_module
from nnbasics.io.sst import CLASS_NAMES, download_sst, load_sst, sentiment_class
from tests.sst_files import write_sst, write_synthetic_sst

# Six sentences as datasetSentences.txt writes them: brackets escaped, an accent as mojibake
SENTENCES = [
    "A -LRB- very -RRB- bad film .",
    "Not good .",
    "It is a film .",
    "Quite good .",
    "Truly great !",
    "The caf\u00c3\u00a9 scene is great .",
]
POSITIVITY = [0.0, 0.2, 0.6, 0.8, 0.81, 0.4]  # classes 0, 0, 2, 3, 4, 1 (thresholds inclusive)
SPLIT = [1, 1, 2, 3, 1, 3]  # 1 train, 2 test, 3 dev


@pytest.fixture
def treebank(tmp_path):
    extra = {"very": 0.5, "great !": 0.9}  # sub-phrases, not sentences
    return write_sst(tmp_path / "sst", SENTENCES, POSITIVITY, SPLIT, extra)


def test_sentences_labels_and_split_as_the_course_reads_them(treebank):
    data = load_sst(treebank)
    assert data.class_names == CLASS_NAMES
    assert [len(data.train), len(data.dev), len(data.test)] == [3, 2, 1]
    assert data.train.sentences == [
        ["a", "-lrb-", "very", "-rrb-", "bad", "film", "."],  # lower-cased, brackets escaped
        ["not", "good", "."],
        ["truly", "great", "!"],
    ]
    assert data.train.y.tolist() == [0, 0, 4] and data.train.y.dtype == np.int64
    np.testing.assert_array_equal(data.train.positivity, [0.0, 0.2, 0.81])
    assert data.dev.sentences[1] == ["the", "café", "scene", "is", "great", "."]  # repaired
    assert data.dev.y.tolist() == [3, 1]
    assert data.test.sentences == [["it", "is", "a", "film", "."]] and data.test.y.tolist() == [2]


def test_binary_labels_drop_the_neutral_sentences(treebank):
    data = load_sst(treebank, labels=2)
    assert data.class_names == ("negative", "positive")
    assert data.train.y.tolist() == [0, 0, 1]
    assert data.dev.y.tolist() == [1, 0]
    assert len(data.test) == 0  # its only sentence is neutral


def test_the_folder_the_archive_unpacks_into_is_found_from_its_parent(tmp_path):
    write_sst(tmp_path / "stanfordSentimentTreebank", SENTENCES, POSITIVITY, SPLIT)
    assert len(load_sst(tmp_path).train) == 3


def test_the_class_thresholds_belong_to_the_lower_class():
    values = [0.0, 0.2, 0.2000001, 0.4, 0.5, 0.6, 0.7, 0.8, 0.80001, 1.0]
    assert sentiment_class(values).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


@given(st.floats(0.0, 1.0))
def test_the_class_counts_the_thresholds_below_the_value(value):
    assert sentiment_class(value) == sum(value > t for t in (0.2, 0.4, 0.6, 0.8))


def test_synthetic_treebank_labels_follow_its_moods(tmp_path):
    from tests.sst_files import MOOD_WORDS

    data = load_sst(write_synthetic_sst(tmp_path / "syn", n=300))
    for split in (data.train, data.dev, data.test):
        for tokens, label in zip(split.sentences, split.y, strict=True):
            moods = {m for m, words in enumerate(MOOD_WORDS) for t in tokens if t in words}
            assert moods <= {label}  # the only mood words in a sentence are its class's


def test_old_and_new_import_paths():
    from nnbasics.datasets import download_sst as old_download
    from nnbasics.datasets import load_sst as old_load

    from nnbasics.io.datasets import load_sst as new_load

    assert old_load is new_load is load_sst and old_download is download_sst


@pytest.mark.parametrize("labels", [3, 0, True, "5"])
def test_labels_other_than_5_or_2_are_refused(treebank, labels):
    with pytest.raises(ValueError, match="labels must be 5 or 2"):
        load_sst(treebank, labels=labels)


def test_a_missing_file_is_named(treebank):
    (treebank / "dictionary.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing dictionary\.txt"):
        load_sst(treebank)


@pytest.mark.parametrize("file, text, message", [
    ("datasetSplit.txt", "sentence_index,splitset_label\n1,1\n2,4\n", "line 3"),
    ("datasetSplit.txt", "sentence_index,splitset_label\n1,1\n", "sentence 2 .*has no split"),
    ("sentiment_labels.txt", "phrase ids|sentiment values\n0|1.5\n", "value in \\[0, 1\\]"),
    ("datasetSentences.txt", "sentence_index\tsentence\n1\tA .\n3\tB .\n", "expected 2"),
    ("datasetSentences.txt", "sentence_index\tsentence\n1 no tab\n", "index<TAB>sentence"),
    ("dictionary.txt", "a film\n", "phrase\\|id"),
])
def test_malformed_lines_are_named(treebank, file, text, message):
    (treebank / file).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_sst(treebank)


def test_a_sentence_missing_from_the_dictionary_is_named(tmp_path):
    folder = write_sst(tmp_path / "sst", SENTENCES, POSITIVITY, SPLIT,
                       dictionary_form=lambda s: s)  # brackets left escaped: no match
    with pytest.raises(ValueError, match=r"sentence 1 is not a phrase of dictionary\.txt"):
        load_sst(folder)


def test_an_oversized_file_is_refused_before_reading(treebank, monkeypatch):
    monkeypatch.setattr(sst_module, "MAX_FILE_BYTES", 100)
    (treebank / "dictionary.txt").write_text("x" * 101)
    with pytest.raises(ValueError, match="more than the 100 a treebank file"):
        load_sst(treebank)


@pytest.mark.skipif(not os.environ.get("NNBASICS_SST_DIR"),
                    reason="the real treebank: set NNBASICS_SST_DIR to its folder")
def test_the_real_treebank_has_the_official_split():
    data = load_sst(os.environ["NNBASICS_SST_DIR"])
    assert [len(data.train), len(data.dev), len(data.test)] == [8544, 1101, 2210]
    assert len(load_sst(os.environ["NNBASICS_SST_DIR"], labels=2).test) == 1821


# -- download ----------------------------------------------------------------------------------


def _archive(treebank, extra=()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sst_module.SST_FILES:
            zf.write(treebank / name, f"stanfordSentimentTreebank/{name}")
        zf.writestr("__MACOSX/stanfordSentimentTreebank/._dictionary.txt", b"\0\5")
        for name, data in extra:
            zf.writestr(name, data)
    return buffer.getvalue()


class _Server:
    """Stands in for ``urllib.request.urlopen``: serves ``payload``, counts the requests."""

    def __init__(self, payload: bytes):
        self.payload, self.requests = payload, 0

    def __call__(self, url, timeout):
        self.requests += 1
        return io.BytesIO(self.payload)


def test_download_verifies_the_archive_and_unpacks_the_files(treebank, tmp_path, monkeypatch):
    payload = _archive(treebank)
    server = _Server(payload)
    monkeypatch.setattr(sst_module.urllib.request, "urlopen", server)
    target = tmp_path / "download"
    sha256 = hashlib.sha256(payload).hexdigest()
    folder = download_sst(target, sha256=sha256)
    assert folder == target and server.requests == 1
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [*sst_module.SST_FILES, "stanfordSentimentTreebank.zip"])
    assert load_sst(folder).train.y.tolist() == [0, 0, 4]
    download_sst(target, sha256=sha256)  # the kept archive is verified, not fetched again
    assert server.requests == 1


def test_the_default_checksum_is_the_official_archives():
    assert sst_module.SST_URL.endswith("/stanfordSentimentTreebank.zip")
    assert len(sst_module.SST_SHA256) == 64 and int(sst_module.SST_SHA256, 16) >= 0


def test_a_download_with_another_checksum_is_not_kept(treebank, tmp_path, monkeypatch):
    monkeypatch.setattr(sst_module.urllib.request, "urlopen", _Server(_archive(treebank)))
    with pytest.raises(OSError, match="checksum mismatch"):
        download_sst(tmp_path / "d", sha256="0" * 64)
    assert list((tmp_path / "d").iterdir()) == []


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil", "stanfordSentimentTreebank/../../x",
                                    "C:\\evil"])
def test_an_archive_writing_outside_the_folder_is_refused(treebank, tmp_path, monkeypatch,
                                                          member):
    payload = _archive(treebank, extra=[(member, b"x")])
    monkeypatch.setattr(sst_module.urllib.request, "urlopen", _Server(payload))
    with pytest.raises(ValueError, match="outside the folder"):
        download_sst(tmp_path / "d", sha256=hashlib.sha256(payload).hexdigest())
    assert not (tmp_path / "evil.txt").exists()
    assert not list((tmp_path / "d").glob("*.txt"))


def test_an_archive_declaring_oversized_members_is_refused(treebank, tmp_path, monkeypatch):
    payload = _archive(treebank)
    monkeypatch.setattr(sst_module.urllib.request, "urlopen", _Server(payload))
    monkeypatch.setattr(sst_module, "MAX_FILE_BYTES", 50)
    with pytest.raises(ValueError, match=r"declares .* bytes, more than 50"):
        download_sst(tmp_path / "d", sha256=hashlib.sha256(payload).hexdigest())
    assert not list((tmp_path / "d").glob("*.txt"))


def test_an_archive_without_the_treebank_is_refused(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("stanfordSentimentTreebank/README.txt", b"hello")
    payload = buffer.getvalue()
    monkeypatch.setattr(sst_module.urllib.request, "urlopen", _Server(payload))
    with pytest.raises(ValueError, match="not the treebank's archive"):
        download_sst(tmp_path / "d", sha256=hashlib.sha256(payload).hexdigest())


def test_an_endless_download_is_cut_off(tmp_path, monkeypatch):
    class Endless:
        def read(self, n):
            return b"\0" * n

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(sst_module.urllib.request, "urlopen", lambda url, timeout: Endless())
    monkeypatch.setattr(sst_module, "MAX_ARCHIVE_BYTES", 1 << 18)
    with pytest.raises(OSError, match="exceeds"):
        download_sst(tmp_path / "d", sha256="0" * 64)
    assert list((tmp_path / "d").iterdir()) == []
