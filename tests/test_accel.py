"""The boundary of the compiled code: only nnbasics._accel imports numba, nothing compiles at
import, and the command line says when kernels compile."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import nnbasics

PACKAGE = Path(nnbasics.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_accelerators_import_numba_or_llvmlite():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "_accel" in path.relative_to(PACKAGE).parts:
            continue
        compiled = {m for m in _imported_modules(path) if m.split(".")[0] in {"numba", "llvmlite"}}
        if compiled:
            offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(compiled)}")
    assert offenders == []


def _fresh_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_importing_the_package_and_the_course_math_imports_no_compiler():
    proc = _fresh_python(
        "import sys, nnbasics, nnbasics.core.network, nnbasics.word2vec.objectives; "
        "import nnbasics.network, nnbasics.datasets; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_command_line_says_once_when_kernels_compile(tmp_path):
    # NUMBA_CACHE_DIR (numba's documented setting) points at an empty cache: a cold start
    code = ("from nnbasics._accel import announce_compilation\n"
            "from numba import njit\n"
            "announce_compilation()\n"
            "@njit(cache=True)\n"
            "def twice(x):\n"
            "    return 2 * x\n"
            "twice(1); twice(1.5)\n")
    script = tmp_path / "cold.py"
    script.write_text(code)
    run = [sys.executable, str(script)]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    cold = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert cold.returncode == 0, cold.stderr
    assert cold.stderr.count("nnbasics: compiling kernels") == 1
    warm = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert warm.returncode == 0, warm.stderr
    assert "compiling" not in warm.stderr  # loaded from the cache: nothing to say
