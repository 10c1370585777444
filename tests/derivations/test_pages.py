"""The derivation pages and their tests stay in step: every link names a test that exists, every
test is linked from its page, and the math uses only constructs that render on GitHub."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TESTS = Path(__file__).resolve().parent

PAGES = {  # page -> the test file that checks it
    "softmax.md": "test_softmax.py",
    "sigmoid.md": "test_sigmoid.py",
    "softmax-cross-entropy.md": "test_softmax_cross_entropy.py",
    "one-hidden-layer-network.md": "test_one_hidden_layer_network.py",
    "gradient-checking.md": "test_gradient_checking.py",
    "deeper-networks.md": "test_deeper_networks.py",
    "word2vec.md": "test_word2vec.py",
}
LINK = re.compile(r"\[`(test_\w+\.py)::(test_\w+)`\]\(\.\./tests/derivations/(test_\w+\.py)\)")


def defined_tests(test_file: str) -> set[str]:
    tree = ast.parse((TESTS / test_file).read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@pytest.mark.parametrize("page", PAGES)
def test_page_links_name_existing_tests(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    links = LINK.findall(text)
    assert links, f"{page} links no test"
    for shown_file, name, target in links:
        assert shown_file == target == PAGES[page], f"{page}: link to {target}::{name}"
        assert name in defined_tests(target), f"{page} links a missing test {target}::{name}"
    # and every test of the page's file is linked from the page
    unlinked = defined_tests(PAGES[page]) - {name for _, name, _ in links}
    assert not unlinked, f"{page} does not link {sorted(unlinked)}"


def test_index_and_readme_link_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        assert f"]({page})" in index, f"docs/README.md does not link {page}"
        assert f"](docs/{page})" in readme, f"README.md does not link docs/{page}"


@pytest.mark.parametrize("page", [*PAGES, "README.md"])
def test_math_renders_on_github(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    # display blocks: "$$" alone on its line, opened and closed
    fences = [line for line in text.splitlines() if line.strip().startswith("$$")]
    assert all(line.strip() == "$$" for line in fences), f"{page}: put $$ on its own line"
    assert len(fences) % 2 == 0, f"{page}: unbalanced $$ blocks"
    outside_display = re.sub(r"^\$\$\n.*?^\$\$\n", "", text, flags=re.MULTILINE | re.DOTALL)
    for line in outside_display.splitlines():
        code_free = re.sub(r"`[^`]*`", "", line)
        # inline math opens and closes on the same line
        assert code_free.count("$") % 2 == 0, f"{page}: inline math spans lines near {line!r}"
        # and is only math when no space follows the opening $ or precedes the closing one, and
        # no digit follows the closing one
        for math in re.finditer(r"\$([^$]+)\$", code_free):
            inner, after = math.group(1), code_free[math.end() : math.end() + 1]
            assert inner == inner.strip() and not after.isdigit(), f"{page}: ${inner}$ {after}"
    # GitHub's Markdown treats a backslash before ASCII punctuation as an escape before MathJax
    # sees it: \{ \} become bare braces and \, \; \! become punctuation. Use \lbrace, \rbrace,
    # \thinspace, \medspace ... instead.
    escapes = re.findall(r"\\[!-/:-@\[-`{-~]", re.sub(r"`[^`\n]*`", "", text))
    assert not escapes, f"{page}: Markdown eats the backslash of {sorted(set(escapes))}"
    # a bare < inside math can be read as an HTML tag: use \lt
    for math in re.findall(r"\$([^$]+)\$", outside_display):
        assert "<" not in math, f"{page}: use \\lt in {math!r}"
