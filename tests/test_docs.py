"""The documentation is checked like code: every fenced ```python block in README.md and docs/*.md runs, and the
README keeps the shape a newcomer relies on (short, its picture, the two commands, a reading order of real files).

Each document's blocks run in one subprocess (PyTorch is imported once per document), each block in a fresh
namespace, so every example has to stand on its own, as a reader would paste it. A traceback names the document
and its line. Blocks not meant to run are fenced as ```text or ```bash.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 150
COMMANDS = {  # heading -> the exact command below it (CI runs the second verbatim)
    "Run the app": "pip install -r requirements.txt && streamlit run app.py",
    "Run the tests": "pip install -r requirements-dev.txt && pytest",
}

RUN_BLOCKS = """
import json, sys
for path, line, code in json.load(sys.stdin):
    # Blank lines in front, so a traceback's line numbers are the document's own.
    exec(compile("\\n" * (line - 1) + code, path, "exec"), {"__name__": "__main__"})
"""


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(first line of code, code) for each ```python block, line numbers counted from 1."""
    blocks, code, start = [], None, 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fence = line.strip()
        if code is None and fence == "```python":
            code, start = [], number + 1
        elif code is not None and fence == "```":
            blocks.append((start, "\n".join(code) + "\n"))
            code = None
        elif code is not None:
            code.append(line)
    assert code is None, f"{path.name}: a ```python block is never closed"
    return blocks


def test_the_block_finder_sees_what_a_reader_sees(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("text\n```python\nx = 1\n\ny = 2\n```\n```bash\nls\n```\n```python\nprint(3)\n```\n")
    assert python_blocks(doc) == [(3, "x = 1\n\ny = 2\n"), (11, "print(3)\n")]


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.relative_to(ROOT).as_posix() for p in DOCUMENTS])
def test_every_python_block_runs(path: Path, tmp_path: Path):
    blocks = [(str(path.relative_to(ROOT)), line, code) for line, code in python_blocks(path)]
    if not blocks:
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["EXCOLOR_DATA_DIR"] = str(tmp_path / "data")  # an example that votes or tallies stays out of data/
    env["OMP_NUM_THREADS"] = "1"  # as the rest of the suite (conftest): more threads only slow a model this small
    done = subprocess.run(
        [sys.executable, "-c", RUN_BLOCKS],
        input=json.dumps(blocks),
        cwd=tmp_path,  # an example that writes files writes them here
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"a python block in {path.name} failed:\n{done.stderr[-4000:]}"


def test_the_readme_teaches_first():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"
    for heading, command in COMMANDS.items():
        assert f"## {heading}\n\n```bash\n{command}\n```\n" in text, f"'{heading}' must be followed by {command}"
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images, "the README shows the app"
    for image in images:
        assert (ROOT / image).is_file(), f"README.md shows {image}, which is not in the repository"


def test_the_readme_names_files_that_exist():
    """The reading order and the file names beside it point at real files and folders."""
    named = set(re.findall(r"`((?:excolor|pages|tests)/[\w/.]*|app\.py)`", README.read_text()))
    assert {"excolor/model.py", "excolor/backprop.py", "pages/", "app.py"} <= named
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert not missing, f"README.md names files that do not exist: {missing}"
