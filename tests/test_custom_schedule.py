"""Custom schedules on the placement page (AppTest): every rejected input class, a valid schedule, divergence.

The table is driven the way a visitor drives it: its rows (session_state["schedule_text"], the text the editor is
filled from) or a cell edit (the data editor's edit state), then the "Apply schedule" button; files go through
the uploader. A rejected schedule must leave the last valid one in place. Training in these tests uses
201-step schedules, so it takes a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HEADER = "STEP,lr,separate,anchor,unit,planar\n"
SHORT = HEADER + "0,0.01,0.01,0.01,0.01,0.01\n200,0.05,0,0,0,0\n"
DIVERGING = "STEP,lr,separate\n0,1,1e300\n200,1,1e300\n"  # weight × term overflows float32 at once
NOTHING = "(its total term became NaN or infinite): nothing to draw."  # a figure page's note for a diverged run


def _placement():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/placement.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture()
def placement():
    return _placement()


def _schedule(at):
    return at.session_state.get("schedule")


def _apply_table(at, text: str):
    at.session_state["schedule_text"] = text
    at.button(key="schedule_apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


REJECTED_TABLES = [
    ("unparsable step", HEADER + "0,0.01,,,,\nabc,0.02,,,,\n", "line 3: cannot read step 'abc'"),
    (
        "non-increasing step",
        HEADER + "0,0.01,,,,\n500,0.02,,,,\n400,0.03,,,,\n",
        "line 4: step 400 does not come after",
    ),
    ("negative value", HEADER + "0,0.01,-1,,,\n200,0.02,,,,\n", "line 2: separate is negative"),
    ("non-finite value", HEADER + "0,0.01,,,,\n200,inf,,,,\n", "line 3: lr is not a finite number"),
    ("nan value", HEADER + "0,0.01,,nan,,\n200,0.02,,,,\n", "line 2: anchor is not a finite number"),
    ("lr above 1", HEADER + "0,0.01,,,,\n200,1.5,,,,\n", "line 3: lr 1.5 is above 1"),
    ("too many steps", HEADER + "0,0.01,,,,\n20000,0.02,,,,\n", "line 3: step 20,000 is beyond the limit"),
    ("not a number", HEADER + "0,0.01,,,,\n200,fast,,,,\n", "line 3: lr value 'fast' is not a number"),
]


@pytest.mark.parametrize(("text", "message"), [r[1:] for r in REJECTED_TABLES], ids=[r[0] for r in REJECTED_TABLES])
def test_a_rejected_table_says_which_line_and_keeps_the_last_valid_schedule(placement, text, message):
    at = placement
    before = _schedule(at)
    _apply_table(at, text)
    assert any(message in e and "still in use" in e for e in _errors(at)), _errors(at)
    assert _schedule(at) == before


def test_a_cell_edit_in_the_table_is_validated_too(placement):
    at = placement
    version = at.session_state["schedule_version"]
    at.session_state[f"schedule_editor_{version}"] = {
        "edited_rows": {3: {"lr": "2"}},  # the row of step 1000 (line 5 of the sheet)
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="schedule_apply").click().run()
    assert any("line 5: lr 2 is above 1" in e for e in _errors(at)), _errors(at)
    assert _schedule(at) is None


def _upload(at, name: str, content: bytes):
    at.file_uploader[0].set_value((name, content, "text/csv")).run()
    at.button(key="schedule_apply_upload").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_upload_with_an_unknown_column_is_rejected(placement):
    at = _upload(placement, "sheet.csv", b"STEP,lr,momentum\n0,0.01,0.9\n200,0.02,0.9\n")
    assert any("line 1: unknown column 'momentum'" in e for e in _errors(at)), _errors(at)
    assert _schedule(at) is None


def test_an_upload_over_100_kb_is_rejected(placement):
    rows = "".join(f"{i},0.01,,,,\n" for i in range(0, 19_000))
    big = (HEADER + rows).encode() + b"#" * 120_000
    at = _upload(placement, "big.csv", big)
    assert any("larger than 100 KB" in e for e in _errors(at)), _errors(at)
    assert _schedule(at) is None


def test_a_valid_upload_is_applied_and_shown_in_the_table(placement):
    at = _upload(placement, "short.csv", SHORT.encode())
    assert not _errors(at), _errors(at)
    schedule = _schedule(at)
    assert schedule is not None and schedule.steps == 201
    assert any("custom (201 steps)" in e.label for e in at.expander)


def test_a_valid_table_changes_the_recipe_and_trains_it(placement):
    at = _apply_table(placement, SHORT)
    assert not _errors(at), _errors(at)
    assert _schedule(at).steps == 201
    assert any("Applied the table: 201 training steps" in s.value for s in at.success)
    # the replay now ends at step 200 (the slider's grid of a 201-step run): the page trained the custom recipe
    replay = [c.value for c in at.caption if "probe colors" in c.value]  # other captions end sentences at step 200
    assert len(replay) == 1 and replay[0].count("step 200.") == 2  # both placements, in the replay's caption
    # an invalid one afterwards keeps the short schedule, not Ex 2.4
    _apply_table(at, HEADER + "0,0.01,,,,\n200,2,,,,\n")
    assert _schedule(at).steps == 201
    at.button(key="schedule_reset").click().run()
    assert _schedule(at) is None
    assert any("Ex 2.4 (3,001 steps)" in e.label for e in at.expander)


def test_a_diverging_schedule_says_where_and_which_term_on_the_placement_page(placement):
    at = _apply_table(placement, DIVERGING)
    errors = _errors(at)
    assert any("diverged at step 0" in e and "total term" in e for e in errors), errors
    assert not at.exception


@pytest.mark.parametrize("page", ["app.py", "pages/reconstruction.py", "pages/interventions.py"])
def test_other_pages_survive_a_diverged_run(placement, page):
    at = _apply_table(placement, DIVERGING)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _schedule(at).steps == 201  # the page shows the visitor's diverged schedule, not Ex 2.4
    said = "training diverged at step 0: the total term became NaN or infinite. Try a gentler schedule or another seed."
    assert _errors(at) == [f"{name}: {said}" for name in ("pre-norm (Ex 2.3)", "post-norm (Ex 2.4)")]  # once each
    notes = [i.value for i in at.info if "nothing to draw" in i.value]
    assert notes == ([] if page == "app.py" else [f"post-norm (Ex 2.4) diverged at step 0 {NOTHING}"])


def test_the_evidence_page_survives_a_diverged_run(placement):
    at = _apply_table(placement, DIVERGING)
    at.switch_page("pages/evidence.py").run()
    at.slider(key="evidence_seeds").set_value(2).run()
    next(b for b in at.button if b.label.startswith("Train and compare 2 seeds")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("diverged" in w.value for w in at.warning)
