"""Follow me: the teacher's page and open tab, published to the class; students who follow are moved there.

A position is the page's script and its open tabs as a query (`pages/placement.py`, `space=3d`). The teacher's
session publishes it on every page run and, from a small fragment, whenever a tab changes (a tab switch reruns
only its fragment, not the page). Every student's session runs a fragment every FOLLOW_EVERY_S seconds: it tells
the store the student is here (the projector's "connected now") and, while "Follow my teacher" is on (the
default in a class), reads the position and, when the teacher has moved since (the position's version grew),
switches page with the tab set through the URL. A student may look around between the teacher's moves; one who
turned following off is never moved. A position is read only from the store (written only with the teacher's
key) and checked against the menu's pages and the tabs' parameters before it moves anyone.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import streamlit as st

from excolor.classmode.store import Refused, StoreError, open_store

from . import identity, teacher, urlstate

FOLLOW_EVERY_S = 1.0  # a move reaches a student within this plus a page switch: well inside 3 s
FOLLOW = "follow_teacher"  # the toggle's key
_PAGE = "_page_script"  # session state: the script of the page this session is running (set by the shell)
_PUBLISHED = "_published_position"
_FOLLOWED = "_followed_position"


def set_page(script: str) -> None:
    st.session_state[_PAGE] = script


def followed_pages() -> set[str]:
    """The menu's pages a student can be moved to: all but the teacher's own."""
    from .shell import PAGES, TEACHER_PAGES

    return {script for script, _, _ in PAGES} - TEACHER_PAGES


def here() -> tuple[str, str] | None:
    """This session's position: its page and the open tabs the URL holds; None on a page nobody follows to."""
    script = st.session_state.get(_PAGE)
    if script not in followed_pages():
        return None
    tabs = {name: value for name, value in st.query_params.to_dict().items() if name in urlstate.TAB_PARAMS}
    return script, urlencode(sorted(tabs.items()))


def parse_position(page: str, section: str) -> dict[str, str] | None:
    """The tabs of a published position if it names a menu page and only tab parameters; else None."""
    tabs = dict(parse_qsl(section))
    if page not in followed_pages() or not set(tabs) <= set(urlstate.TAB_PARAMS):
        return None
    return tabs


# --------------------------------------------------------------------------------------------------
# The sidebar part: the teacher publishes, a student follows


def sidebar(code: str | None) -> None:
    """In a class: for its teacher, the position published; for a student of a class with a teacher, the toggle
    and the beat."""
    if code is None:
        return
    if teacher.is_teacher(code):
        publish(code)
        _teacher_beat(code)
        return
    try:
        led = open_store().has_teacher(code)
    except StoreError:
        return
    if led and here() is not None:  # not on the projector: a student there only reads why it is closed
        st.toggle(
            "Follow my teacher",
            value=True,
            key=FOLLOW,
            persist_state="session",
            help="On: when your teacher moves to another page or tab, you are taken there too (within a few "
            "seconds). Off: you stay where you are.",
        )
        _student_beat(code)


def publish(code: str) -> None:
    """The teacher's position to the store, when it changed (a refused key leaves one line, nothing else)."""
    key, position = teacher.teacher_key(code), here()
    if key is None or position is None or st.session_state.get(_PUBLISHED) == position:
        return
    try:
        open_store().set_position(code, key, *position, identity.visitor())
    except (StoreError, Refused):
        return  # followers stay where they are; the next run tries again
    st.session_state[_PUBLISHED] = position


@st.fragment(run_every=FOLLOW_EVERY_S)
def _teacher_beat(code: str) -> None:
    publish(code)  # a tab switch reruns only the tab's fragment: this catches it


@st.fragment(run_every=FOLLOW_EVERY_S)
def _student_beat(code: str) -> None:
    store = open_store()
    try:
        store.heartbeat(code, identity.visitor())
        position = store.position(code) if st.session_state.get(FOLLOW, True) else None
    except StoreError:
        return
    if position is None or position.version == st.session_state.get(_FOLLOWED):
        return
    st.session_state[_FOLLOWED] = position.version  # moved once per teacher move: free to look around until the next
    tabs = parse_position(position.page, position.section)
    if tabs is not None and (position.page, position.section) != here():
        move(code, position.page, tabs)


def move(code: str, script: str, tabs: dict[str, str]) -> None:
    """Switch to `script` with `tabs` open: the tab parameters are read from the URL again on arrival."""
    for name in tabs:
        urlstate.forget(urlstate.TAB_PARAMS[name])
    st.switch_page(script, query_params={"class": code, **tabs})
