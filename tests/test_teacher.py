"""The teacher of a class under AppTest: starting a class, the key kept out of the URL and off every screen, the
projector for the teacher only, refused keys (none, guessed, another class's) with one line, the reveal held for
students until the teacher shows it, the teacher's published position, and the QR code's content.

Every test points EXCOLOR_DATA_DIR at its own temporary folder, so the classes it makes are its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

from streamlit.testing.v1 import AppTest  # noqa: E402

from excolor.app import follow, teacher  # noqa: E402
from excolor.classmode import codes  # noqa: E402
from excolor.classmode.limits import Who  # noqa: E402
from excolor.classmode.store import DATABASE_URL_ENV, open_store  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PROJECTOR = "pages/projector.py"
WHO = Who(codes.new_token(), "127.0.0.9")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "class-data"
    monkeypatch.setenv("EXCOLOR_DATA_DIR", str(folder))
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    return folder


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str = APP, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update(params)
    ok(at.run())
    if page != APP:
        ok(at.switch_page(page).run())
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value for kind in ("markdown", "caption", "error", "info", "success", "code", "title") for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def started_class(data_dir) -> tuple[str, str]:
    code, key = codes.new_class_code("year 9b"), codes.new_token()
    open_store().create_class(code, key, WHO)
    return code, key


def test_starting_a_class_makes_the_session_its_teacher_and_shows_the_key_only_in_the_teacher_link(data_dir):
    at = open_page()
    next(t for t in at.text_input if t.label == "Name of the class").input("Year 9B")
    ok(next(b for b in at.button if b.label == "Start a class").click().run())
    link = next(c.value for c in at.code if "teach=" in c.value)
    code = link.split("class=")[1].split("&")[0]
    key = link.split("teach=")[1]
    assert code.startswith("year-9b-") and codes.is_token(key)
    assert open_store().teacher_ok(code, key, WHO)
    assert at.query_params["class"] in (code, [code]) and "teach" not in at.query_params
    assert f"You teach class **{code}**" in texts(at)
    ok(at.switch_page(PROJECTOR).run())
    shown = texts(at)
    assert f"Class {code}" in shown and f"/?class={code}" in shown and key not in shown
    assert [m.label for m in at.metric] == ["Students connected now"]
    assert len([t for t in at.toggle if t.label == "Show the class's result to the students"]) == 3


def test_a_teacher_link_is_checked_kept_in_the_session_and_taken_out_of_the_url(data_dir):
    code, key = started_class(data_dir)
    at = open_page(**{"class": code, "teach": key})
    assert "teach" not in at.query_params and at.query_params["class"] in (code, [code])
    assert key not in texts(at)
    ok(at.switch_page(PROJECTOR).run())
    assert [m.label for m in at.metric] == ["Students connected now"]


@pytest.mark.parametrize("forged", ["", "guessed", "other"])
def test_no_guessed_or_other_class_key_opens_the_teachers_controls(data_dir, forged):
    code, _ = started_class(data_dir)
    _, other_key = started_class(data_dir)
    params = {"class": code} | ({"teach": {"guessed": "x" * 22, "other": other_key}[forged]} if forged else {})
    at = open_page(PROJECTOR, **params)
    assert sorted(e.value for e in at.error if "teacher" in e.value) == sorted(
        [f"Teacher link refused: not the teacher key of class {code}."] * bool(forged)
        + ["This page is for a class's teacher: open it with your teacher link."]
    )
    assert not at.metric and not [t for t in at.toggle if t.label.startswith("Show the class's result")]


def test_failed_keys_are_limited_and_the_refusal_is_one_line(data_dir):
    code, key = started_class(data_dir)
    at, lines = open_page(**{"class": code}), []
    for attempt in range(8):  # one browser trying keys: the store counts its failures
        at.query_params["teach"] = key if attempt == 7 else f"{attempt}" * 22
        ok(at.run())
        lines += [e.value for e in at.error if e.value.startswith("Teacher link refused")]
    assert len(lines) == 8 and all("\n" not in line for line in lines)
    assert lines[0] == f"Teacher link refused: not the teacher key of class {code}."
    assert "not the teacher key" not in lines[-1], "after a few failures even the right key waits"


def test_a_students_class_result_waits_for_the_teacher_and_the_answer_stays_changeable(data_dir):
    code, key = started_class(data_dir)
    student = open_page(**{"class": code})
    assert any(t.label == "Follow my teacher" and t.value for t in student.toggle)
    radio = student.radio(key="prediction")
    ok(radio.set_value("pre").run())
    ok(student.radio(key="prediction").set_value("post").run())
    assert open_store().tally(code)["placement"] == {"post": 1, "pre": 0, "same": 0}
    ok(student.switch_page("pages/placement.py").run())
    assert any("Waiting for your teacher" in i.value for i in student.info)
    assert not [c for c in student.caption if c.value.startswith(f"Class {code},")]
    open_store().set_reveal(code, key, "placement", True, WHO)
    ok(student.run())
    assert not any("Waiting for your teacher" in i.value for i in student.info)
    assert [c for c in student.caption if c.value.startswith(f"Class {code}, 1 vote")]


def test_the_teacher_publishes_the_page_and_open_tab_and_a_forged_position_moves_nobody(data_dir):
    code, key = started_class(data_dir)
    at = open_page(**{"class": code, "teach": key})
    first = open_store().position(code)
    assert (first.page, first.section) == ("app.py", "")
    ok(at.switch_page("pages/reconstruction.py").run())
    moved = open_store().position(code)
    assert (moved.page, moved.section, moved.version) == ("pages/reconstruction.py", "", first.version + 1)
    assert follow.parse_position("pages/placement.py", "space=3d") == {"space": "3d"}
    assert follow.parse_position("pages/projector.py", "") is None
    assert follow.parse_position("pages/placement.py", "class=other") is None
    assert follow.parse_position("https://elsewhere.example/", "") is None


def test_the_qr_code_holds_the_student_link():
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is a dev requirement")
    import io

    from PIL import Image

    link = "http://127.0.0.1:8501/?class=year-9b-k3f9"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(teacher.qr_png(link))).convert("L"))
    assert [f.text for f in found] == [link]
