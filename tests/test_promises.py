"""Promises no other test held the app to (issue 28): the landing page never waits for training, a custom schedule
stays out of the shared link, export files are built only when their button is pressed, and a truly read-only data
directory gives one-line errors and changes nothing."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

from test_app_pages_intro import elements  # noqa: E402
from test_custom_schedule import SHORT, _apply_table, _placement  # noqa: E402

from excolor import export  # noqa: E402
from excolor.app import training  # noqa: E402
from excolor.classmode import sqlite  # noqa: E402
from excolor.classmode.sqlite import FILE_NAME, SqliteBackend  # noqa: E402
from excolor.classmode.store import Store, StoreError, Who  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")


# ------------------------------------------------------------------------------ the landing page never waits


def test_the_landing_page_returns_while_its_models_are_still_training(monkeypatch):
    """Deterministic, no clock: the default pair is made untrained and its training held until the page has
    returned. A page that waited for it would hang until AppTest's timeout and fail."""
    from streamlit.testing.v1 import AppTest

    b, pair, release = training.queue(), training.default_recipes(), threading.Event()
    original = b.train_fn

    def held(recipes, progress=None):
        release.wait(120)
        return original(recipes, progress=progress)

    monkeypatch.setattr(b, "train_fn", held)
    with b.lock:
        for recipe in pair:
            if (entry := b.entries.get(recipe)) is not None and entry.done.is_set():
                del b.entries[recipe]
                b.trained.pop(recipe, None)
    try:
        at = AppTest.from_file(APP, default_timeout=30)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        entries = b.lookup(pair)
        assert all(e is not None and e.run is None for e in entries)  # asked for, and not trained yet
        assert elements(at, "progress")  # the live status instead of the models
        assert not elements(at, "status")  # never the blocking "Training …" box
    finally:
        release.set()
    assert all(e.done.wait(120) and e.run is not None for e in entries)  # trained for the tests after this one


# ---------------------------------------------------------------------------- the schedule is not in the link


def test_a_custom_schedule_stays_out_of_the_shared_link():
    at = _placement()
    before = dict(at.query_params)
    _apply_table(at, SHORT)
    assert at.session_state["schedule"].steps == 201  # applied: the page trains and shows it
    assert dict(at.query_params) == before  # the link is the same as with Ex 2.4
    for page in ("pages/interventions.py", "pages/evidence.py", "app.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        text = " ".join(f"{k}={v}" for k, v in at.query_params.items())
        assert "0.05" not in text and "201" not in text and "STEP" not in text, (page, text)


# ---------------------------------------------------------------------------- exports are built on click only

EXPORTERS = ("weights_bytes", "recipe_to_dict", "latents_csv", "metrics_csv")


@pytest.fixture
def exports_built(monkeypatch) -> list[str]:
    """The name of every export function called, in order (each still returns its file)."""
    calls: list[str] = []
    for name in EXPORTERS:
        original = getattr(export, name)

        def recording(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(export, name, recording)
    return calls


def test_pages_with_downloads_build_no_file_until_one_is_asked_for(exports_built):
    from excolor.app import downloads

    at = _placement()
    for page in ("pages/interventions.py", "pages/placement.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    assert exports_built == []  # every page ran, with its download buttons, and built nothing
    run = training.trained_runs(training.default_recipes())[1]
    assert downloads.weights_file(run)()[:2] == b"PK"  # the button's callable: builds the file when called...
    assert exports_built[0] == "weights_bytes"  # ...through the recorded function, so a file built early shows


# ------------------------------------------------------------------------------ a read-only data directory


def as_a_user_who_cannot_write(action) -> str:
    """What `action()` returns, run with no write permission on a 0o555 folder. Root writes anyway, so as root
    it runs in a forked child that drops to uid/gid 65534 (nobody) first; the answer comes back through a pipe."""
    if os.geteuid() != 0:
        return action()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            text = action()
        except BaseException as err:  # noqa: BLE001  (reported to the parent, which fails the test)
            text = f"raised {type(err).__name__}: {err}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return text


def store_answers(path: Path) -> str:
    """One line per operation: 'cast: <error>' / 'tally: <error>', or what it returned."""
    lines = []
    s = Store(SqliteBackend(path))
    for what, op in (
        ("cast", lambda: s.vote("abc", "placement", Who("u"), "pre")),
        ("tally", lambda: s.tally("abc")),
    ):
        try:
            lines.append(f"{what}: returned {op()!r}")
        except StoreError as err:
            lines.append(f"{what}: {err}")
    return "\n".join(lines)


@pytest.fixture
def read_only_dirs():
    """A folder with a store in it and an empty one, both 0o555, in a 0o555 parent (others may traverse it)."""
    root = Path(tempfile.mkdtemp(prefix="excolor-ro-"))
    path = root / "with-store" / FILE_NAME
    Store(SqliteBackend(path)).vote("abc", "placement", Who("t"), "post")
    sqlite._keepers.pop(path).close()  # the process's last connection: its log is folded into the file
    (root / "empty").mkdir()
    for d in (root / "with-store", root / "empty", root):
        d.chmod(0o555)
    yield root
    for d in (root, root / "with-store", root / "empty"):
        d.chmod(0o755)
    for f in sorted(root.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    root.rmdir()


def test_a_read_only_folder_with_a_store_gives_one_line_errors_and_changes_nothing(read_only_dirs):
    path = read_only_dirs / "with-store" / FILE_NAME
    before = path.read_bytes()
    answers = as_a_user_who_cannot_write(lambda: store_answers(path)).split("\n")
    assert answers == [
        f"cast: vote store {path}: attempt to write a readonly database",
        f"tally: vote store {path}: attempt to write a readonly database",
    ]
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir()) == [FILE_NAME]


def test_a_read_only_empty_folder_gives_one_line_errors_and_creates_nothing(read_only_dirs):
    path = read_only_dirs / "empty" / FILE_NAME
    answers = as_a_user_who_cannot_write(lambda: store_answers(path)).split("\n")
    assert answers == [
        f"cast: vote store {path}: unable to open database file",
        f"tally: vote store {path}: unable to open database file",
    ]
    assert not list(path.parent.iterdir())
