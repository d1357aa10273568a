"""Projector: the teacher's page for the class's screen. The student link in large type and as a QR code, how many
students are connected now, each question's live tally with its reveal switch, and how follow-me works.

Only the class's teacher (a session that opened the teacher link) sees it; anyone else gets one line. Nothing
here shows the teacher's key: the screen is meant to be projected.
"""

import html

import streamlit as st

from excolor.app import shell

frame = shell.page("Projector")  # first: the menu and sidebar (the teacher link's key is checked there)

from excolor.app import classroom, teacher  # noqa: E402
from excolor.classmode import questions  # noqa: E402
from excolor.classmode.store import StoreError, open_store  # noqa: E402

LIVE_EVERY_S = 3  # the connected count and the tallies on the projector: a teacher watches them come in


def the_student_link(code: str) -> None:
    link = classroom.class_link(code)
    words, picture = st.columns([3, 2], vertical_alignment="center")
    with words:
        st.title(f"Class {code}")
        st.markdown("Join on your phone or laptop: scan the code, or type")
        st.markdown(
            f'<p style="font-size: 2.6rem; font-weight: 700; word-break: break-all">{html.escape(link)}</p>',
            unsafe_allow_html=True,
        )
    with picture:
        st.image(teacher.qr_png(link), width=360, alt=f"QR code of the student link {link}")


@st.fragment(run_every=LIVE_EVERY_S)
def connected_now(code: str) -> None:
    try:
        n = open_store().connected(code)
    except StoreError as err:
        st.warning(f"The class store is unavailable ({err}).", icon="⚠️")
        return
    st.metric("Students connected now", n, help="Students who had a page of the class open in the last 30 s.")


def the_questions(code: str) -> None:
    st.header("The questions")
    st.caption(
        "Each question's live split, as it comes in (no answer is marked: the pages measure it). Switch a "
        "question's result on when everyone has voted: until then students see “waiting for your teacher”."
    )
    for question in questions.QUESTIONS.values():
        st.subheader(question.prompt)
        teacher.reveal_control(code, question.id)
        live_tally(code, question.id)


@st.fragment(run_every=LIVE_EVERY_S)
def live_tally(code: str, question: str) -> None:
    try:
        counts = open_store().tally(code)[question]
    except StoreError as err:
        st.caption(f"⚠️ The class tally is unavailable ({err}).")
        return
    classroom.show_split(question, counts, None, questions.QUESTIONS[question].short, code, LIVE_EVERY_S)


def follow_me() -> None:
    st.header("Follow me")
    st.markdown(
        "Open a page from the menu: students who follow you (the default) are taken to the same page and tab "
        "within a few seconds. A student who switched “Follow my teacher” off stays where they are. "
        "This page itself is yours alone: opening it moves nobody."
    )


def main() -> None:
    code = classroom.class_code()
    if not teacher.is_teacher(code):
        st.error("This page is for a class's teacher: open it with your teacher link.", icon="🔒")
        st.stop()
    the_student_link(code)
    connected_now(code)
    the_questions(code)
    follow_me()
    frame.finish()


main()
