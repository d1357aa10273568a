"""Class mode: a class code in the URL, one anonymous vote per visitor per question, and the class's live split.

A teacher shares `/?class=<code>`; every page's sidebar then shows the code and a link carrying it, and each of the
three predict-before-reveal questions (classmode.questions) becomes a vote: the visitor's browser identity
(app.identity, never shown) plus the code, the question and the answer, kept by the class store (classmode.store).
After the reveal a page draws the class's split in a fragment that re-reads the counts every TALLY_EVERY_S
seconds, so votes coming in from other devices appear without rerunning the page. Without a class the questions
work exactly as before: the answer stays in the session and the reveal says whether it was right. In a class
started by a teacher (app.teacher), a student's split waits for the teacher's reveal ("waiting for your teacher",
re-checked every REVEAL_EVERY_S seconds); the teacher sees it live with the reveal switch beside it.

The vote store can fail (read-only disk, corrupt file): then the question still works, and the tally says so in
one line.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from excolor.classmode import codes, questions
from excolor.classmode.store import MAX_VOTES_PER_CLASS, Refused, StoreError, open_store
from excolor.designs import PRESET_NAMES
from excolor.figures import intervention_notes
from excolor.figures.class_charts import tally_chart
from excolor.text import join, pct

from . import caches, follow, identity, teacher, urlstate

CLASS = urlstate.UrlParam("class", None, codes.parse_class_code, key="class_code")
TALLY_EVERY_S = 15  # a few times a minute: ~2 light queries a second for a class of 30
REVEAL_EVERY_S = 3  # while students wait for their teacher's reveal: it shows within this
KEYS = {"placement": "prediction", "interventions": "prediction_interventions", "lab": "prediction_lab"}
_STORE_PROBLEM = "_vote_store_problem"


# --------------------------------------------------------------------------------------------------
# The class code (drawn by the shell in every page's sidebar)


def class_code() -> str | None:
    return st.session_state.get(CLASS.state_key)


def origin() -> str:
    """This server's scheme and host as the browser sees them ('' when unknown, e.g. under AppTest)."""
    url = urlsplit(st.context.url or "")
    return f"{url.scheme}://{url.netloc}" if url.scheme and url.netloc else ""


def class_link(code: str) -> str:
    """The landing page's address with the class code: what the teacher shares (never the teacher's key)."""
    return f"{origin()}/?{urlencode({'class': code})}"


def sidebar() -> str | None:
    """Bind the URL's `class` (an invalid one gets the link notice and is dropped), keep it in the URL, and show
    it with a link that carries it. Returns the code, or None outside a class."""
    identity.remember()
    code = urlstate.bind(CLASS)
    teacher.check_link(code)  # a teacher link's key: checked, kept in the session, out of the URL
    if problem := teacher.refusal():
        st.error(problem, icon="🔒")
    if code is None:
        if "class" in st.query_params:
            del st.query_params["class"]
        return None
    urlstate.publish(CLASS, code)
    if teacher.is_teacher(code):
        st.markdown(
            f"🎓 You teach class **{code}** (*Projector* in the menu): students who follow you go where you go."
        )
    else:
        st.markdown(f"🏫 Class **{code}**: predictions here count, anonymously, in the class's tally.")
    st.code(class_link(code), language=None, wrap_lines=True)
    follow.sidebar(code)
    return code


def join_class(code: str) -> None:
    """Make `code` this session's class from now on (a teacher who just started it), as a link would."""
    st.session_state[CLASS.state_key] = code
    urlstate.publish(CLASS, code)


# --------------------------------------------------------------------------------------------------
# Asking


def answer_key(question: str, asked_for: object = None) -> str:
    """Where this session keeps its answer to `question` asked for `asked_for` (a placement, a seed count): a
    prediction holds only for the exact question it was made for, so a changed question asks anew."""
    return KEYS[question] if asked_for is None else f"{KEYS[question]}_{asked_for}"


def _vote(question: str, key: str) -> None:
    """The radio's on_change: cast (or move) this visitor's vote; a store failure is remembered for one line."""
    code, answer = class_code(), st.session_state.get(key)
    if code is None or answer is None:
        return
    try:
        result = open_store().vote(code, question, identity.visitor(), answer)
    except StoreError as err:
        st.session_state[_STORE_PROBLEM] = f"Not counted in the class tally (the vote store is unavailable): {err}"
        return
    except Refused as err:
        st.session_state[_STORE_PROBLEM] = f"Not counted in the class tally: {err}."
        return
    st.session_state.pop(_STORE_PROBLEM, None)
    st.session_state[f"_vote_status_{question}"] = result.status


def ask(
    question: str, labels: dict[str, str] | None = None, prompt: str | None = None, asked_for: object = None
) -> str | None:
    """The question as a radio (no answer preselected), kept for the session; in a class, each change is a vote.
    `asked_for` (e.g. the placement or the seed count the `prompt` names) keeps one answer per exact question."""
    q = questions.QUESTIONS[question]
    labels = labels or q.answers
    code = class_code()
    where = f" and counted, anonymously, in class {code}'s tally" if code else ""
    key = answer_key(question, asked_for)
    answer = st.radio(
        prompt or q.prompt,
        options=list(labels),
        format_func=labels.get,
        index=None,
        key=key,
        persist_state="session",
        on_change=_vote,
        args=(question, key),
        help=f"Your answer is kept for this session{where}; the measurement below or on the next page checks it.",
    )
    if code and answer is not None:
        _vote_note(question)
    return answer


def _vote_note(question: str) -> None:
    problem = st.session_state.get(_STORE_PROBLEM)
    status = st.session_state.get(f"_vote_status_{question}")
    if problem:
        st.caption(f"⚠️ {problem}")
    elif status == "full":
        st.caption(f"⚠️ Class {class_code()}'s tally is full ({MAX_VOTES_PER_CLASS:,} votes): not counted.")
    elif status:
        st.caption(f"🗳️ Counted in class {class_code()}'s tally. Changing your answer moves your vote.")


# --------------------------------------------------------------------------------------------------
# Revealing


def verdict(answer: str | None, measured: str | None, found: str, labels: dict[str, str]) -> None:
    """Whether the visitor's answer matches the measured one, with what was measured (`found`, one sentence);
    `labels` words the answers. Any predict-before-reveal question can use it, class or not."""
    if measured is None:
        st.info(found, icon="🔬")
    elif answer is None:
        st.info(f"{found} (Make your prediction above first next time.)", icon="🔮")
    elif answer == measured:
        st.success(f"Your prediction was right: {labels[answer]}. {found}", icon="🎯")
    else:
        st.warning(f"Not this time: you predicted {labels.get(answer, answer)}. {found}", icon="🔄")


def tally(question: str, measured: str | None, labels: dict[str, str] | None = None) -> None:
    """In a class: the class's split on `question`, live (answers worded by `labels`, default the question's short
    ones). Outside a class: nothing."""
    if class_code() is None:
        return
    code = class_code()
    labels = labels or questions.QUESTIONS[question].short
    st.markdown(f"**How class {code} predicted**")
    teacher.reveal_control(code, question)  # the teacher's switch; nothing for a student
    if held(code, question):
        _waiting(question)
    else:
        _live_tally(question, measured, tuple(labels.items()))


def held(code: str, question: str) -> bool:
    """Whether this session must wait for the teacher's reveal: a student of a class that has a teacher, before
    the teacher showed `question`'s result. (A class without a teacher shows its split at once, as before.)"""
    if teacher.is_teacher(code):
        return False
    store = open_store()
    try:
        return store.has_teacher(code) and question not in store.revealed(code)
    except StoreError:
        return False  # the tally below says the store is unavailable


@st.fragment(run_every=REVEAL_EVERY_S)
def _waiting(question: str) -> None:
    """Until the reveal: one line, re-checked every few seconds; the reveal reruns the page to draw the split."""
    code = class_code()
    if not held(code, question):
        st.rerun()
    st.info(f"Waiting for your teacher to show class {code}'s result. You can still change your answer.", icon="⏳")


@st.fragment(run_every=TALLY_EVERY_S)
def _live_tally(question: str, measured: str | None, labels: tuple[tuple[str, str], ...]) -> None:
    code = class_code()
    try:
        counts = open_store().tally(code)[question]
    except StoreError as err:
        st.caption(f"⚠️ The class tally is unavailable ({err}); the questions still work.")
        return
    show_split(question, counts, measured, dict(labels), code, TALLY_EVERY_S)


def show_split(question: str, counts: dict, measured: str | None, labels: dict, code: str, every: float) -> None:
    """The class's split as a chart and its caption (the projector draws it too, with no answer marked)."""
    chart, caption = _chart(question, tuple(counts.items()), measured, tuple(labels.items()), code)
    caches.show_chart(chart, width="stretch", alt=caption)
    st.caption(f"{caption} Updates every {every:g} s.")


@st.cache_resource(max_entries=64, show_spinner=False)
def _chart(question: str, counts: tuple, measured: str | None, labels: tuple, code: str):
    """One frozen chart per distinct split, shared by every session polling the same class."""
    chart, caption = tally_chart(dict(counts), dict(labels), measured, code)
    return caches.FrozenChart(chart), caption


def reveal(
    question: str, measured: str | None, found: str, labels: dict[str, str] | None = None, asked_for: object = None
) -> None:
    """The reveal: this visitor's verdict on the answer given for `asked_for`, then (in a class) the class's live
    split with the measured answer."""
    answer = st.session_state.get(answer_key(question, asked_for))
    verdict(answer, measured, found, labels or questions.QUESTIONS[question].answers)
    tally(question, measured, labels)


# --------------------------------------------------------------------------------------------------
# The questions whose measurement this module works out from the pages' runs and summaries


def interventions_question(placement: str) -> None:
    """Suppression vs repulsion, asked of the `placement` model: its answer differs between the placements."""
    ask("interventions", prompt=questions.interventions_prompt(placement), asked_for=placement)


def interventions_reveal(run, placement: str) -> None:
    """Suppression vs repulsion at the notebook's settings on `run` (the `placement` model), judged on collateral
    damage (SPEC §7), with selectivity beside it as what it is: the damage's shape, not its amount."""
    from excolor.interventions import default_interventions

    names = ("suppression", "repulsion")
    notebook = default_interventions()
    evs = {n: caches.evaluation(run, notebook[n]) for n in names}
    collateral = {n: (evs[n].collateral, evs[n].damaged_share) for n in names}
    measured = questions.interventions_outcome(collateral)
    found = (
        f"Measured at the notebook's settings on this {PRESET_NAMES[placement]} model, judged on collateral damage "
        "(the colors far from red): median error "
        + join(f"{intervention_notes.times(evs[n].collateral)} the baseline's under {n}" for n in names)
        + "; visibly damaged "
        + join(f"{pct(100 * evs[n].damaged_share)} under {n}" for n in names)
        + ". (Selectivity r, how much the damage is shaped like red, not how much the rest suffers: "
        + join(f"{n} {evs[n].selectivity:.2f}" for n in names)
        + ".)"
    )
    if measured is None:
        found += " No verdict: a number is missing (the model may have diverged)."
    else:
        found += f" So the answer is: {questions.QUESTIONS['interventions'].answers[measured]}."
    reveal("interventions", measured, found, asked_for=placement)


def lab_question(n_seeds: int, summary: dict | None = None) -> None:
    """The lab's question for `n_seeds` seeds and, once `summary` (excolor.evidence.summarize) compares pre-norm
    with post-norm, its reveal: on how many seeds post-norm had the lower max error. The answer is kept per seed
    count: a prediction made for 8 seeds is never judged against 32."""
    labels = questions.lab_answer_labels(n_seeds)
    st.subheader("Predict first")
    ask("lab", labels, prompt=questions.lab_prompt(n_seeds), asked_for=n_seeds)
    if summary is None:
        return
    sides = {summary.get("a"): "a", summary.get("b"): "b"}
    m = summary.get("measures", {}).get("baseline_max")
    if m is None or set(sides) != {"pre", "post"}:
        st.caption("This question is about pre-norm against post-norm; the comparison below is between other designs.")
        return
    wins, n = m["wins"][sides["post"]], m["n_pairs"]
    found = f"Measured: post-norm had the lower max error on {wins} of {n} seeds."
    if n != n_seeds:  # some pairs diverged: judge the share the learner predicted on the seeds that count
        found += f" ({n_seeds - n} of the {n_seeds} seeds gave no usable pair and are left out.)"
    reveal("lab", questions.share_answer(wins, n), found, labels, asked_for=n_seeds)
