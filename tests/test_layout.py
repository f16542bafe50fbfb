"""The layout docs/architecture.md describes: short modules, simple functions, one home per heavy library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_visit

pytestmark = pytest.mark.fast

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"
MAX_LINES = 450  # a module longer than this does more than one job
MAX_COMPLEXITY = 15  # cyclomatic complexity (radon) of one function
MAX_FUNCTION_LINES = 60
EXEMPT = "# complexity:"  # on the line above a def: why this function stays one piece


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_modules_are_short() -> None:
    long = {p.name: n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split by job): {long}"


def test_functions_are_simple() -> None:
    complex_ = []
    for path in _modules():
        lines = path.read_text().splitlines()
        for block in cc_visit(path.read_text()):
            if block.letter == "C":
                continue  # a class: its methods are checked one by one
            above = lines[block.lineno - 2] if block.lineno >= 2 else ""
            length = block.endline - block.lineno + 1
            if (block.complexity > MAX_COMPLEXITY or length > MAX_FUNCTION_LINES) and EXEMPT not in above:
                complex_.append(
                    f"{path.name}:{block.lineno} {block.fullname} (complexity {block.complexity}, {length} lines)"
                )
    assert not complex_, f"functions over complexity {MAX_COMPLEXITY} or {MAX_FUNCTION_LINES} lines: {complex_}"


@pytest.mark.parametrize(
    ("library", "home"),
    [
        ("chromadb", {"store.py"}),
        ("torch", {"embedder.py", "onnx_backend.py"}),
        # the readers of .docx/.pptx/.epub, and the integration a llama-index app imports
        ("llama_index", {"llama_readers.py", "llama_index.py"}),
    ],
)
def test_heavy_libraries_have_one_home(library: str, home: set[str]) -> None:
    importers = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(n == library or n.startswith(library + ".") for n in names):
                importers.add(path.name)
    assert importers <= home, f"{library} imported outside {sorted(home)}: {sorted(importers - home)}"
