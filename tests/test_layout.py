"""The product's design card, checked: the top level, the three layers, and the deploy-facing config."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = {
    "app.py", "pages", "excolor", "tests", "requirements.txt", "README.md",
    "requirements-dev.txt", "pyproject.toml", ".streamlit", ".ci", ".gitignore", "docs",
}  # fmt: skip


def tracked_top_level() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {f.split("/")[0] for f in files}


def test_the_top_level_is_exactly_the_designed_one():
    assert tracked_top_level() == TOP_LEVEL
    assert [p.name for p in ROOT.glob("*.py")] == ["app.py"], "app.py is the only top-level Python module"


def science_and_figure_modules() -> list[str]:
    package = ROOT / "excolor"
    modules = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "app" in parts[1:2] or parts[-1] == "__main__":  # __main__ runs the CLI when imported
            continue
        modules.append(".".join(p for p in parts if p != "__init__"))
    return modules


def test_only_excolor_app_imports_streamlit():
    modules = science_and_figure_modules()
    assert {"excolor.train", "excolor.evaluate", "excolor.figures.swatches", "excolor.cli"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_page_script_is_in_the_shared_menu_and_every_menu_entry_exists():
    from excolor.app.shell import PAGES

    scripts = [script for script, _, _ in PAGES]
    assert scripts[0] == "app.py"
    assert sorted(scripts[1:]) == sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
    assert len({label for _, label, _ in PAGES}) == len(PAGES)


def test_deploy_config_hides_tracebacks_and_streamlits_own_page_list():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"  # visitors never see server paths
    assert config["client"]["showSidebarNavigation"] is False  # the shell draws the menu on every page
