"""The catalogue of mistakes and its documentation stay in step: every code a check can report is
catalogued, and every catalogued code has its section (anchor) in docs/grading.md."""

from __future__ import annotations

import re
from pathlib import Path

import nnbasics.grade
from nnbasics.grade.mistakes import CATALOGUE, message

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(nnbasics.grade.__file__).parent
CODE = r"[a-z0-9]+(?:-[a-z0-9]+)+"


def reported_codes() -> set[str]:
    codes = set()
    for source in PACKAGE.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        codes |= set(re.findall(rf'message\(\s*"({CODE})"', text))
        codes |= set(re.findall(rf'Finding\(\s*"({CODE})"', text))
        codes |= set(re.findall(rf'^\s*"({CODE})(?:#\d)?":\s*(?:dict|lambda|\{{)', text, re.M))
    return codes


def test_every_reported_code_is_catalogued():
    codes = reported_codes()
    assert len(codes) > 40
    assert codes - set(CATALOGUE) == set()


def test_every_code_has_its_section_in_the_docs():
    text = (ROOT / "docs" / "grading.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    assert anchors == set(CATALOGUE)


def test_messages_link_their_section():
    assert message("softmax-no-max-shift", "overflow").endswith(
        "(see docs/grading.md#softmax-no-max-shift)")
