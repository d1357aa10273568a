"""The class store (excolor.classmode.store) and the questions' measured answers (excolor.classmode.questions):
exact counts under concurrency, one vote per visitor per question, the bounds, the purge, and failures that stay
one-line errors. The store tests run on SQLite and, where a PostgreSQL server can be started, on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from excolor.classmode import codes, questions, sqlite, store
from excolor.classmode.sqlite import SqliteBackend
from excolor.classmode.store import Cast, Store, StoreError, Who

DAY = 86_400.0


def class_count(s: Store) -> int:
    """How many classes the store holds (the app never needs the number; the bounds tests do)."""
    with s.backend.transaction(write=False) as tx:
        return tx.execute("SELECT COUNT(*) FROM classes").fetchone()[0]


def vote(s: Store, code: str, question: str, visitor: str, answer: str) -> Cast:
    return s.vote(code, question, Who(visitor), answer)


def test_the_store_is_created_on_first_use_in_wal_mode_with_only_the_promised_columns(db, sq):
    assert not db.parent.exists()
    assert vote(sq, "class-1", "placement", "tok-a", "post").status == "counted"
    assert db.exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [row[1] for row in conn.execute("PRAGMA table_info(votes)")]
    assert columns == ["class", "question", "visitor", "answer", "at"]
    conn.close()


def test_data_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(sqlite.DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert sqlite.database_path() == tmp_path / "elsewhere" / sqlite.FILE_NAME
    monkeypatch.delenv(sqlite.DATA_DIR_ENV)
    assert sqlite.database_path() == sqlite.DEFAULT_DATA_DIR / sqlite.FILE_NAME
    assert "excolor" not in sqlite.DEFAULT_DATA_DIR.relative_to(Path(sqlite.__file__).parents[2]).parts


def test_changing_an_answer_moves_the_vote_and_never_adds_one(s):
    assert vote(s, "abc", "placement", "t1", "post") == Cast("counted")
    assert vote(s, "abc", "placement", "t1", "pre") == Cast("moved", "post")
    assert vote(s, "abc", "placement", "t1", "same") == Cast("moved", "pre")
    assert vote(s, "abc", "placement", "t1", "same") == Cast("same", "same")
    vote(s, "abc", "placement", "t2", "post")
    vote(s, "abc", "lab", "t1", "most")  # another question: its own vote
    vote(s, "other", "placement", "t1", "pre")  # another class: its own tally
    tally = s.tally("abc")
    assert tally["placement"] == {"post": 1, "pre": 0, "same": 1}
    assert tally["lab"] == {"all": 0, "most": 1, "half": 0, "few": 0}
    assert tally["interventions"] == {"suppression": 0, "repulsion": 0, "split": 0}
    assert s.tally("other")["placement"] == {"post": 0, "pre": 1, "same": 0}
    assert s.tally("nobody-here")["placement"] == {"post": 0, "pre": 0, "same": 0}


def test_thirty_threads_voting_at_once_lose_nothing(s):
    """30 visitors each vote, then change their vote, all released at the same instant: exactly 30 votes, and
    each one's last answer counted once."""
    n = 30
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def visitor(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            vote(s, "busy-class", "placement", f"visitor-{i}", "post")
            vote(s, "busy-class", "placement", f"visitor-{i}", ("pre", "same", "post")[i % 3])
            vote(s, "busy-class", "lab", f"visitor-{i}", "all")
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    tally = s.tally("busy-class")
    assert tally["placement"] == {"pre": 10, "same": 10, "post": 10}
    assert sum(tally["lab"].values()) == 30
    with s.backend.transaction(write=False) as tx:
        assert tx.execute("SELECT votes FROM classes WHERE code = 'busy-class'").fetchone()[0] == 60


def test_a_class_holds_at_most_max_votes_and_changes_still_move(s, monkeypatch):
    monkeypatch.setattr(store, "MAX_VOTES_PER_CLASS", 3)
    for i in range(3):
        assert vote(s, "full-class", "placement", f"t{i}", "post").status == "counted"
    assert vote(s, "full-class", "placement", "t9", "pre").status == "full"
    assert vote(s, "full-class", "lab", "t0", "few").status == "full"  # a new vote, even from t0
    assert vote(s, "full-class", "placement", "t0", "pre").status == "moved"  # a change is not new
    assert s.tally("full-class")["placement"] == {"post": 2, "pre": 1, "same": 0}


def test_at_most_max_classes_the_one_idle_longest_goes_first(s, clock, monkeypatch):
    """A full store makes room by dropping the class idle longest, once it has been idle KEEP_ACTIVE_S."""
    monkeypatch.setattr(store, "MAX_CLASSES", 3)
    start = clock.t
    for i, code in enumerate(("aaa", "bbb", "ccc")):
        clock.t = start + i
        vote(s, code, "placement", "t", "post")
    clock.t = start + 10
    vote(s, "aaa", "placement", "u", "pre")  # aaa is used again: bbb is now the oldest
    clock.t = start + 10 + store.KEEP_ACTIVE_S
    vote(s, "ddd", "placement", "t", "post")
    assert class_count(s) == 3
    assert sum(s.tally("bbb")["placement"].values()) == 0
    assert s.tally("aaa")["placement"] == {"post": 1, "pre": 1, "same": 0}
    assert sum(s.tally("ddd")["placement"].values()) == 1


def test_classes_unused_for_thirty_days_are_purged_on_start(s, clock):
    now = clock.t
    clock.t = now - 31 * DAY
    vote(s, "old-class", "placement", "t", "post")
    clock.t = now - 29 * DAY
    vote(s, "recent", "placement", "t", "post")
    clock.t = now
    assert s.purge() == 1  # what a fresh process does first
    assert sum(s.tally("old-class")["placement"].values()) == 0
    assert sum(s.tally("recent")["placement"].values()) == 1
    assert class_count(s) == 1


def test_bad_codes_questions_and_answers_are_refused_before_touching_the_store(db, sq):
    s = sq
    for code in ("ab", "x" * 25, "Class", "a b", "a_b", "ünï", ""):
        assert not codes.is_class_code(code)
        with pytest.raises(ValueError, match="3 to 24 characters"):
            vote(s, code, "placement", "t", "post")
    for code in ("abc", "x" * 24, "year-9-b", "2024"):
        assert codes.parse_class_code(code) == code
    with pytest.raises(ValueError, match="not an answer"):
        vote(s, "abc", "placement", "t", "repulsion")
    with pytest.raises(ValueError, match="not an answer"):
        vote(s, "abc", "nonsense", "t", "post")
    assert not db.exists()


def test_an_unwritable_folder_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    s = Store(SqliteBackend(blocker / "data" / sqlite.FILE_NAME))
    with pytest.raises(StoreError) as caught:
        vote(s, "abc", "placement", "t", "post")
    assert "\n" not in str(caught.value) and "vote store" in str(caught.value)
    with pytest.raises(StoreError):
        s.tally("abc")


def test_a_corrupt_file_is_a_one_line_error(tmp_path):
    path = tmp_path / sqlite.FILE_NAME
    path.write_bytes(b"this is not a database, just text " * 100)
    s = Store(SqliteBackend(path))
    with pytest.raises(StoreError, match="not a database") as caught:
        vote(s, "abc", "placement", "t", "post")
    assert "\n" not in str(caught.value)
    with pytest.raises(StoreError):
        s.tally("abc")


def test_tokens_are_random_and_url_safe():
    tokens = {codes.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) == 22 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)
    assert all(codes.is_token(t) for t in tokens)


# ----------------------------------------------------------------------------------------- measured answers


@pytest.mark.parametrize(
    ("wins", "n", "answer"),
    [(8, 8, "all"), (7, 8, "most"), (6, 8, "most"), (5, 8, "half"), (3, 8, "half"), (2, 8, "few"), (0, 8, "few"),
     (2, 3, "most"), (1, 3, "few"), (1, 2, "half"), (2, 2, "all"), (20, 30, "most"), (10, 30, "few")],
)  # fmt: skip
def test_share_answer_splits_wins_in_thirds(wins, n, answer):
    assert questions.share_answer(wins, n) == answer


def test_lab_answers_are_worded_for_the_number_of_seeds():
    assert questions.lab_answer_labels(8) == {
        "all": "All 8 of 8",
        "most": "Most: 6–7 of 8",
        "half": "About half: 3–5 of 8",
        "few": "Few: 0–2 of 8",
    }
    assert questions.lab_answer_labels(2) == {  # 2 seeds: 0 few, 1 half, 2 all
        "all": "All 2 of 2",
        "most": "Most: no count of 2 seeds",
        "half": "About half: 1 of 2",
        "few": "Few: 0 of 2",
    }
    assert questions.share_answer(3, 2) is None and questions.share_answer(0, 0) is None


def test_interventions_outcome_is_judged_on_collateral_damage_not_selectivity():
    """Issue 24: "more intact" is collateral damage (SPEC §7): the median error of the colors far from red as a
    multiple of the baseline's, and the share of them visibly damaged; both must agree."""
    c = {"suppression": (1.03, 0.0), "repulsion": (1.12, 0.0)}  # seed 0 post-norm at the notebook's settings
    assert questions.interventions_outcome(c) == "suppression"
    assert questions.interventions_outcome({"suppression": (1.0, 0.0), "repulsion": (3.4, 0.14)}) == "suppression"
    assert questions.interventions_outcome({"suppression": (1.2, 0.0), "repulsion": (1.1, 0.02)}) == "split"
    assert questions.interventions_outcome({"suppression": (1.2, 0.01), "repulsion": (1.1, 0.0)}) == "repulsion"
    assert questions.interventions_outcome({"suppression": (1.1, 0.0), "repulsion": (1.1, 0.0)}) == "split"
    assert questions.interventions_outcome({"suppression": (float("nan"), 0.0), "repulsion": (1.1, 0.0)}) is None


def test_the_interventions_question_names_the_placement_it_is_asked_for():
    """Issue 24 item 2: the answer depends on the placement, so the question says which model it is about."""
    pre, post = questions.interventions_prompt("pre"), questions.interventions_prompt("post")
    assert "pre-norm (Ex 2.3)" in pre and "post-norm" not in pre
    assert "post-norm (Ex 2.4)" in post and "pre-norm" not in post
    assert "collateral damage" in post and "selectivity" not in post


# ----------------------------------------------------------------------------------------- python -m excolor tally


def test_cli_tally_prints_the_class_counts_as_json_and_as_a_table(tmp_path, monkeypatch, capsys):
    import json

    from excolor import cli

    monkeypatch.setenv(sqlite.DATA_DIR_ENV, str(tmp_path))
    s = store.open_store()
    for visitor, answer in (("a", "post"), ("b", "pre"), ("c", "post")):
        vote(s, "year-9", "placement", visitor, answer)
    vote(s, "year-9", "interventions", "a", "split")
    assert cli.main(["tally", "--class", "year-9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "class": "year-9",
        "questions": {
            "placement": {"post": 2, "pre": 1, "same": 0},
            "interventions": {"suppression": 0, "repulsion": 0, "split": 1},
            "lab": {"all": 0, "most": 0, "half": 0, "few": 0},
        },
    }
    assert cli.main(["tally", "--class", "year-9"]) == 0
    table = capsys.readouterr().out
    assert "class year-9: 4 votes" in table and "placement (3 votes)" in table
    assert any(line.split()[:3] == ["post", "2", "67%"] for line in table.splitlines())


def test_cli_tally_refuses_a_bad_code_and_reports_a_broken_store_in_one_line(tmp_path, monkeypatch, capsys):
    from excolor import cli

    assert cli.main(["tally", "--class", "No Way"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 to 24 characters" in err
    (tmp_path / sqlite.FILE_NAME).write_bytes(b"garbage " * 200)
    monkeypatch.setenv(sqlite.DATA_DIR_ENV, str(tmp_path))
    assert cli.main(["tally", "--class", "year-9"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a database" in err
