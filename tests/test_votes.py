"""The vote store (excolor.classmode.votes) and the questions' measured answers (excolor.classmode.questions):
exact counts under concurrency, one vote per visitor per question, the bounds, the purge, and failures that stay
one-line errors."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from excolor.classmode import questions, votes

DAY = 86_400.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / votes.FILE_NAME


def class_count(path: Path) -> int:
    """How many classes the store holds (the app never needs the number; the bounds tests do)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM classes").fetchone()[0]
    finally:
        conn.close()


def test_the_store_is_created_on_first_use_in_wal_mode_with_only_the_promised_columns(db):
    assert not db.parent.exists()
    assert votes.cast("class-1", "placement", "tok-a", "post", path=db).status == "counted"
    assert db.exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [row[1] for row in conn.execute("PRAGMA table_info(votes)")]
    assert columns == ["class", "question", "visitor", "answer", "at"]
    conn.close()


def test_data_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(votes.DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert votes.database_path() == tmp_path / "elsewhere" / votes.FILE_NAME
    monkeypatch.delenv(votes.DATA_DIR_ENV)
    assert votes.database_path() == votes.DEFAULT_DATA_DIR / votes.FILE_NAME
    assert "excolor" not in votes.DEFAULT_DATA_DIR.relative_to(Path(votes.__file__).parents[2]).parts


def test_changing_an_answer_moves_the_vote_and_never_adds_one(db):
    assert votes.cast("abc", "placement", "t1", "post", path=db) == votes.Cast("counted")
    assert votes.cast("abc", "placement", "t1", "pre", path=db) == votes.Cast("moved", "post")
    assert votes.cast("abc", "placement", "t1", "same", path=db) == votes.Cast("moved", "pre")
    assert votes.cast("abc", "placement", "t1", "same", path=db) == votes.Cast("same", "same")
    votes.cast("abc", "placement", "t2", "post", path=db)
    votes.cast("abc", "lab", "t1", "most", path=db)  # another question: its own vote
    votes.cast("other", "placement", "t1", "pre", path=db)  # another class: its own tally
    tally = votes.tally("abc", path=db)
    assert tally["placement"] == {"post": 1, "pre": 0, "same": 1}
    assert tally["lab"] == {"all": 0, "most": 1, "half": 0, "few": 0}
    assert tally["interventions"] == {"suppression": 0, "repulsion": 0, "split": 0}
    assert votes.tally("other", path=db)["placement"] == {"post": 0, "pre": 1, "same": 0}
    assert votes.tally("nobody-here", path=db)["placement"] == {"post": 0, "pre": 0, "same": 0}


def test_thirty_threads_voting_at_once_lose_nothing(db):
    """30 visitors each vote, then change their vote, all released at the same instant: exactly 30 votes, and
    each one's last answer counted once."""
    n = 30
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def visitor(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            votes.cast("busy-class", "placement", f"visitor-{i}", "post", path=db)
            votes.cast("busy-class", "placement", f"visitor-{i}", ("pre", "same", "post")[i % 3], path=db)
            votes.cast("busy-class", "lab", f"visitor-{i}", "all", path=db)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    tally = votes.tally("busy-class", path=db)
    assert tally["placement"] == {"pre": 10, "same": 10, "post": 10}
    assert sum(tally["lab"].values()) == 30
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT votes FROM classes WHERE code = 'busy-class'").fetchone()[0] == 60
    conn.close()


def test_a_class_holds_at_most_max_votes_and_changes_still_move(db, monkeypatch):
    monkeypatch.setattr(votes, "MAX_VOTES_PER_CLASS", 3)
    for i in range(3):
        assert votes.cast("full-class", "placement", f"t{i}", "post", path=db).status == "counted"
    assert votes.cast("full-class", "placement", "t9", "pre", path=db).status == "full"
    assert votes.cast("full-class", "lab", "t0", "few", path=db).status == "full"  # a new vote, even from t0
    assert votes.cast("full-class", "placement", "t0", "pre", path=db).status == "moved"  # a change is not new
    assert votes.tally("full-class", path=db)["placement"] == {"post": 2, "pre": 1, "same": 0}


def test_at_most_max_classes_the_one_unused_longest_goes_first(db, monkeypatch):
    monkeypatch.setattr(votes, "MAX_CLASSES", 3)
    for i, code in enumerate(("aaa", "bbb", "ccc")):
        votes.cast(code, "placement", "t", "post", path=db, now=1000.0 + i)
    votes.cast("aaa", "placement", "u", "pre", path=db, now=1010.0)  # aaa is used again: bbb is now the oldest
    votes.cast("ddd", "placement", "t", "post", path=db, now=1020.0)
    assert class_count(db) == 3
    assert sum(votes.tally("bbb", path=db)["placement"].values()) == 0
    assert votes.tally("aaa", path=db)["placement"] == {"post": 1, "pre": 1, "same": 0}
    assert sum(votes.tally("ddd", path=db)["placement"].values()) == 1


def test_classes_unused_for_thirty_days_are_purged_on_start(db):
    now = 100 * DAY
    votes.cast("old-class", "placement", "t", "post", path=db, now=now - 31 * DAY)
    votes.cast("recent", "placement", "t", "post", path=db, now=now - 29 * DAY)
    assert votes.prepare(db, now=now) == 1  # what a fresh process does first
    assert sum(votes.tally("old-class", path=db)["placement"].values()) == 0
    assert sum(votes.tally("recent", path=db)["placement"].values()) == 1
    assert class_count(db) == 1


def test_bad_codes_questions_and_answers_are_refused_before_touching_the_store(db):
    for code in ("ab", "x" * 25, "Class", "a b", "a_b", "ünï", ""):
        assert not votes.is_class_code(code)
        with pytest.raises(ValueError, match="3 to 24 characters"):
            votes.cast(code, "placement", "t", "post", path=db)
    for code in ("abc", "x" * 24, "year-9-b", "2024"):
        assert votes.parse_class_code(code) == code
    with pytest.raises(ValueError, match="not an answer"):
        votes.cast("abc", "placement", "t", "repulsion", path=db)
    with pytest.raises(ValueError, match="not an answer"):
        votes.cast("abc", "nonsense", "t", "post", path=db)
    assert not db.exists()


def test_an_unwritable_folder_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(votes.VoteStoreError) as caught:
        votes.cast("abc", "placement", "t", "post", path=blocker / "data" / votes.FILE_NAME)
    assert "\n" not in str(caught.value) and "vote store" in str(caught.value)
    with pytest.raises(votes.VoteStoreError):
        votes.tally("abc", path=blocker / "data" / votes.FILE_NAME)


def test_a_corrupt_file_is_a_one_line_error(tmp_path):
    path = tmp_path / votes.FILE_NAME
    path.write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(votes.VoteStoreError, match="not a database") as caught:
        votes.cast("abc", "placement", "t", "post", path=path)
    assert "\n" not in str(caught.value)
    with pytest.raises(votes.VoteStoreError):
        votes.tally("abc", path=path)


def test_tokens_are_random_and_url_safe():
    tokens = {votes.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) == 22 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


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

    monkeypatch.setenv(votes.DATA_DIR_ENV, str(tmp_path))
    for visitor, answer in (("a", "post"), ("b", "pre"), ("c", "post")):
        votes.cast("year-9", "placement", visitor, answer)
    votes.cast("year-9", "interventions", "a", "split")
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
    (tmp_path / votes.FILE_NAME).write_bytes(b"garbage " * 200)
    monkeypatch.setenv(votes.DATA_DIR_ENV, str(tmp_path))
    assert cli.main(["tally", "--class", "year-9"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a database" in err
