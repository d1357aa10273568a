"""The teacher of a class: starting it, the teacher key, and the controls only the key opens.

Starting a class (the landing page's "Teach a class") makes a class code and a random teacher key; the store keeps
only a salted hash of the key. The teacher's link carries both (`?class=CODE&teach=KEY`); the first page it opens
checks the key with the store (which limits failed tries per visitor and per address), keeps it in this session
only and takes it out of the address bar at once, so a projected screen never shows it. Students' links carry the
code alone. Every teacher action (a reveal, the published position) hands the key to the store again: a session
without it, whatever it sends, cannot act for the class.
"""

from __future__ import annotations

import io

import streamlit as st

from excolor.classmode import codes
from excolor.classmode.store import Refused, StoreError, open_store

from . import identity
from .shell import TEACHER_STATE

TEACH = "teach"  # the link parameter holding the key
_REFUSED = "_teacher_refused"  # session state: the one line saying why a teacher link was refused
PROJECTOR = "pages/projector.py"


# --------------------------------------------------------------------------------------------------
# The teacher's session


def check_link(code: str | None) -> None:
    """Take the link's teacher key out of the URL and, if the store accepts it for `code`, keep it in this session.
    A refused key leaves one line for the sidebar, and no trace of the key."""
    key = st.query_params.get(TEACH)
    if key is None:
        return
    del st.query_params[TEACH]
    if code is None:
        st.session_state[_REFUSED] = "A teacher link needs its class: this one has no valid class code."
        return
    try:
        accepted = open_store().teacher_ok(code, key, identity.visitor())
    except (StoreError, Refused) as err:  # the store unavailable, or too many wrong keys from this visitor
        st.session_state[_REFUSED] = f"Teacher link refused: {err}"
        return
    if accepted:
        st.session_state[TEACHER_STATE] = (code, key)
        st.session_state.pop(_REFUSED, None)
    else:
        st.session_state[_REFUSED] = f"Teacher link refused: not the teacher key of class {code}."


def teacher_key(code: str | None) -> str | None:
    """This session's teacher key for class `code`, or None: a student, or the teacher of another class."""
    held = st.session_state.get(TEACHER_STATE)
    return held[1] if held and code is not None and held[0] == code else None


def is_teacher(code: str | None) -> bool:
    return teacher_key(code) is not None


def refusal() -> str | None:
    return st.session_state.get(_REFUSED)


def teacher_link(code: str, key: str) -> str:
    """The projector page's address with the code and the key: what only the teacher keeps."""
    from .classroom import origin

    return f"{origin()}/projector?class={code}&{TEACH}={key}"


# --------------------------------------------------------------------------------------------------
# Starting a class


def start_class(name: str) -> tuple[str, str] | None:
    """A new class named after `name` (plus a random part) with a new key, kept as this session's; None (with
    one line on the page) when the store refuses it."""
    code, key = codes.new_class_code(name or "class"), codes.new_token()
    try:
        open_store().create_class(code, key, identity.visitor())
    except (StoreError, Refused) as err:
        st.error(f"No class started: {err}", icon="⚠️")
        return None
    st.session_state[TEACHER_STATE] = (code, key)
    return code, key


# --------------------------------------------------------------------------------------------------
# The controls


def reveal_control(code: str, question: str) -> None:
    """The teacher's switch for `question`: students see the class's split only once it is on."""
    key = teacher_key(code)
    if key is None:
        return
    try:
        shown = question in open_store().revealed(code)
    except StoreError:
        return  # the tally beside it says the store is unavailable
    st.toggle(
        "Show the class's result to the students",
        value=shown,
        key=f"_reveal_{question}",
        on_change=_set_reveal,
        args=(code, question),
        help="Until you switch this on, students see “waiting for your teacher”; their answers stay changeable.",
    )


def _set_reveal(code: str, question: str) -> None:
    key = teacher_key(code)
    if key is None:  # the session lost its key: nothing to do
        return
    try:
        shown = bool(st.session_state.get(f"_reveal_{question}"))
        open_store().set_reveal(code, key, question, shown, identity.visitor())
    except (StoreError, Refused) as err:
        st.session_state[_REFUSED] = f"Reveal not changed: {err}"


def qr_png(text: str, scale: int = 12) -> bytes:
    """`text` as a QR code PNG (dark modules on white, a quiet zone of 4): the student link on the projector."""
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=4, dark="#000000", light="#ffffff")
    return buffer.getvalue()
