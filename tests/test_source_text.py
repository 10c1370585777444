"""The repository's source and documentation text holds no stray control characters.

A ``\\f`` or ``\\a`` written into a Python string by an editing script becomes a form feed or a
bell in the file: invisible in most editors, a broken formula in the rendered docstring.  Tabs,
newlines and carriage returns are the only control characters text files may hold.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_FILES = sorted(
    p for pattern in ("src/**/*.py", "tests/**/*.py", "benchmarks/**/*.py", "docs/**/*.md", "*.md",
                      "*.toml")
    for p in ROOT.glob(pattern) if "__pycache__" not in p.parts
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def test_the_text_files_are_found():
    names = {p.name for p in TEXT_FILES}
    assert {"README.md", "pyproject.toml", "model.py", "test_source_text.py"} <= names


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_control_characters(path):
    # split on "\n" only: str.splitlines also breaks at \f and \v, hiding them
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        match = CONTROL.search(line)
        assert match is None, f"{path.name}:{number}: control character {match.group()!r}"
