"""A teacher leads a class in real browsers (issue 26): the projector's QR code decodes to the student link, a
following student is moved within 3 s, one who opted out stays, a reveal reaches the students, and a student's
link (with no key, a forged key or another class's key) can neither reveal nor move anyone.

One server for the module, on a class store in a temporary folder (EXCOLOR_DATA_DIR); one browser context per
person. The steps share the class, so they run in order within one test each.
"""

from __future__ import annotations

import io
import os
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import VIEWPORT, AppPage, Server, record_metric

pytestmark = pytest.mark.e2e

FOLLOW_LIMIT_S = 3.0


@pytest.fixture(scope="module")
def class_server(browser, tmp_path_factory):
    before = os.environ.get("EXCOLOR_DATA_DIR")
    os.environ["EXCOLOR_DATA_DIR"] = str(tmp_path_factory.mktemp("teacher-data"))  # the server inherits it
    server = Server("light")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if before is None:
            os.environ.pop("EXCOLOR_DATA_DIR", None)
        else:
            os.environ["EXCOLOR_DATA_DIR"] = before


@pytest.fixture
def person(browser, class_server):
    """Open a new device (its own browser context: its own cookie, so its own visitor) on the class server."""
    contexts = []

    def open_device() -> AppPage:
        context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
        context.set_default_timeout(30_000)
        contexts.append(context)
        return AppPage(context.new_page(), class_server)

    yield open_device
    for context in contexts:
        context.close()


def body_text(tab: AppPage) -> str:
    return tab.page.locator('[data-testid="stApp"]').inner_text()


def start_class(tab: AppPage) -> tuple[str, str]:
    """Start a class on the landing page; (code, teacher link) as the page shows them."""
    tab.goto("/")
    tab.wait_idle(timeout=120)
    tab.page.get_by_label("Name of the class").fill("e2e teach")
    tab.page.get_by_role("button", name="Start a class").click()
    tab.page.get_by_text("Your teacher link").wait_for(timeout=60_000)
    tab.wait_idle(timeout=60)
    link = next(t for t in tab.page.locator('[data-testid="stCode"]').all_inner_texts() if "teach=" in t).strip()
    code = parse_qs(urlsplit(link).query)["class"][0]
    return code, link


def open_projector(tab: AppPage, teacher_link: str) -> None:
    tab.page.goto(teacher_link, wait_until="domcontentloaded")
    tab.wait_idle(timeout=120)
    tab.page.get_by_text("Students connected now").wait_for(timeout=30_000)


def decode_qr(tab: AppPage) -> str:
    """The projector's QR code, read back from the pixels the browser drew."""
    import zxingcpp
    from PIL import Image

    image = tab.page.locator('[data-testid="stImage"] img').first
    image.scroll_into_view_if_needed()
    picture = Image.open(io.BytesIO(image.screenshot(animations="disabled"))).convert("L")
    found = zxingcpp.read_barcodes(picture)
    assert len(found) == 1, f"{len(found)} codes found in the projector's QR image"
    return found[0].text


def path_of(tab: AppPage) -> str:
    return urlsplit(tab.page.url).path


def wait_for_path(tab: AppPage, path: str, timeout: float) -> float | None:
    """Seconds until the tab's address shows `path`, or None if it did not within `timeout`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if path_of(tab) == path:
            return time.perf_counter() - start
        tab.page.wait_for_timeout(50)
    return None


def join(tab: AppPage, code: str, follow: bool = True) -> None:
    tab.goto(f"/?class={code}")
    tab.wait_idle(timeout=120)
    toggle = tab.page.get_by_role("switch", name="Follow my teacher")
    assert toggle.is_checked(), "following is on by default in a class with a teacher"
    if not follow:
        tab.page.locator('[data-testid="stSidebar"]').get_by_text("Follow my teacher", exact=True).click()
        tab.page.wait_for_timeout(300)
        tab.wait_idle(timeout=60)
        assert not toggle.is_checked()


def test_the_projector_and_follow_me(person):
    teacher = person()
    code, teacher_link = start_class(teacher)
    key = parse_qs(urlsplit(teacher_link).query)["teach"][0]
    open_projector(teacher, teacher_link)
    assert "teach" not in parse_qs(urlsplit(teacher.page.url).query), "the key stays out of the address bar"
    assert key not in body_text(teacher), "the projector never shows the key"
    student_link = f"{teacher.server.url}/?class={code}"
    assert student_link in body_text(teacher)
    assert decode_qr(teacher) == student_link
    teacher.page.screenshot(path=_shot("teacher-projector"))

    follower, stayer = person(), person()
    join(follower, code)
    join(stayer, code, follow=False)
    teacher.page.get_by_text("Students connected now").wait_for()
    latencies = []
    for label, path in (("Reconstruction error", "/reconstruction"), ("Hypothesis", "/")):
        follower.wait_idle(timeout=120)  # a page still running cannot be left: its fragments wait for its end
        teacher.page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').get_by_text(label).click()
        assert wait_for_path(teacher, path, timeout=30) is not None
        latency = wait_for_path(follower, path, timeout=10)
        assert latency is not None and latency <= FOLLOW_LIMIT_S, f"follower moved to {path} after {latency} s"
        latencies.append(round(latency, 2))
        assert path_of(stayer) == "/" and wait_for_path(stayer, "/reconstruction", timeout=FOLLOW_LIMIT_S) is None
        assert parse_qs(urlsplit(follower.page.url).query).get("class") == [code]
    record_metric("follow_latency_s", latencies)
    for tab in (follower, stayer):
        assert not tab.exception_text()
        assert key not in body_text(tab)


def test_a_reveal_reaches_the_students_and_a_student_link_cannot_act(person):
    teacher = person()
    code, teacher_link = start_class(teacher)
    key = parse_qs(urlsplit(teacher_link).query)["teach"][0]
    other_code, other_link = start_class(person())  # another class's teacher: its key must not open this class
    other_key = parse_qs(urlsplit(other_link).query)["teach"][0]
    open_projector(teacher, teacher_link)  # the teacher's last page was the landing page: followers stay there

    follower, student = person(), person()
    join(follower, code)
    join(student, code, follow=False)
    student.page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').get_by_text(
        "Regularizer placement"
    ).click()  # in the app, not a new page load: a reload would be a new session, following again
    student.page.get_by_text("Waiting for your teacher").wait_for(timeout=300_000)  # after training

    for forged in ("", "x" * 22, other_key):  # no key, a guessed one, another class's
        intruder = person()
        intruder.goto(f"/projector?class={code}" + (f"&teach={forged}" if forged else ""))
        intruder.page.get_by_text("This page is for a class's teacher").wait_for(timeout=120_000)
        refused = intruder.page.get_by_text(f"Teacher link refused: not the teacher key of class {code}.")
        assert refused.count() == (1 if forged else 0)
        assert not intruder.page.get_by_role("switch", name="Show the class's result to the students").count()
    assert other_code != code
    student.page.wait_for_timeout(4_000)  # longer than the students' reveal poll: still held, still on placement
    assert student.page.get_by_text("Waiting for your teacher").count() and path_of(student) == "/placement"
    assert path_of(follower) == "/", "nothing a student sent moved the follower"

    reveal = teacher.page.get_by_role("switch", name="Show the class's result to the students").first
    teacher.page.get_by_text("Show the class's result to the students", exact=True).first.click()
    started = time.perf_counter()
    student.page.locator('[data-testid="stCaptionContainer"]', has_text=f"Class {code}").wait_for(timeout=30_000)
    record_metric("reveal_reaches_student_s", round(time.perf_counter() - started, 2))
    assert reveal.is_checked()
    assert not student.page.get_by_text("Waiting for your teacher").count()
    assert not re.search(re.escape(key), body_text(student))


def _shot(name: str) -> str:
    from e2e_harness import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
