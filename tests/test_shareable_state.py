"""Shareable views: every control that changes a result is mirrored in st.query_params (AppTest).

Opening a URL is a new AppTest with query parameters set before its first run; a page is visited with
switch_page, as a visitor following a link to it would land on it. Bad values fall back to the default with a
visible notice that names the parameter, never an exception.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

torch.set_num_threads(1)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = {
    "hypothesis": "app.py",
    "placement": "pages/placement.py",
    "reconstruction": "pages/reconstruction.py",
    "interventions": "pages/interventions.py",
    "evidence": "pages/evidence.py",
}


def _open(page: str, **params: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update(params)
    at.run()
    if page != "hypothesis":
        at.switch_page(PAGES[page])
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _widget(at, key: str):
    for kind in ("number_input", "select_slider", "slider", "segmented_control", "toggle"):
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    if key in TABS:  # AppTest has no accessor for a tab bar's state: the open tab's label is in session state
        return SimpleNamespace(value=at.session_state[key])
    raise KeyError(key)


TABS = {
    "placement_space": "replay",
    "reconstruction_space": "shapes",
    "interventions_space": "angles",
}  # a tab bar's key -> the URL text of its default tab


def _url(at) -> dict:
    return {k: str(v) for k, v in at.query_params.items()}


ROUND_TRIPS = [
    (
        "reconstruction",
        {"placement": "pre", "log": "1", "space": "3d"},
        {"reconstruction_placement": "pre", "reconstruction_log": True, "reconstruction_space": "Rotate it in 3-D"},
    ),
    (
        "interventions",
        {
            "placement": "pre",
            "sa": "0.3",
            "sb": "0.5",
            "sp": "3.5",
            "ra": "0.1",
            "rb": "0.6",
            "log": "1",
            "space": "3d",
            "view": "2",
        },
        {
            "interventions_space": "In 3-D, with the cones",
            "interventions_placement": "pre",
            "sup_a": 0.3,
            "sup_b": 0.5,
            "sup_p": 3.5,
            "rep_a": 0.1,
            "rep_b": 0.6,
            "interventions_log": True,
            "interventions_view": 2,
        },
    ),
    (
        "placement",
        {"space": "3d", "view": "1", "weighted": "1"},  # no `step`: the replay scrubs in the browser
        {"placement_space": "After training, in 3-D", "placement_view": 1, "placement_weighted": True},
    ),
    (
        "evidence",
        {"a": "post,anchor=pre", "b": "post", "seeds": "4"},
        {"evidence_seeds": 4, "lab_a_anchor": "pre", "lab_a_separate": "post", "lab_b_anchor": "post"},
    ),
]


@pytest.mark.parametrize(("page", "params", "widgets"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_a_link_opens_the_view_it_names_and_the_url_keeps_it(page, params, widgets):
    at = _open(page, seed="0", **params)
    for key, value in widgets.items():
        assert _widget(at, key).value == value, key
    assert _url(at) == {"seed": "0", **params}  # every control written back, nothing else
    assert not at.warning, [w.value for w in at.warning]
    assert any("Link to this view" in c.value and "seed=0" in c.value for c in at.sidebar.caption)


def test_seed_from_the_url_sets_the_sidebar_and_moving_a_control_updates_the_url():
    at = _open("hypothesis", seed="3")
    assert at.number_input(key="seed").value == 3
    assert _url(at)["seed"] == "3"
    at.number_input(key="seed").set_value(0).run()
    assert _url(at)["seed"] == "0"


def test_controls_survive_page_switches_and_are_republished():
    at = _open("interventions", seed="0", sa="0.3")
    _widget(at, "sup_b").set_value(0.5)
    at.run()
    assert _url(at)["sb"] == "0.5"
    at.switch_page(PAGES["reconstruction"]).run()
    at.switch_page(PAGES["interventions"]).run()
    assert not at.exception
    assert (_widget(at, "sup_a").value, _widget(at, "sup_b").value) == (0.3, 0.5)
    assert (_url(at)["sa"], _url(at)["sb"]) == ("0.3", "0.5")


TAMPERED = [
    ("hypothesis", "seed", "-3", "seed", 0),
    ("hypothesis", "seed", "abc", "seed", 0),
    ("hypothesis", "seed", "99999999999", "seed", 0),
    ("interventions", "sa", "2", "sup_a", 0.0),
    ("interventions", "sa", "0.33", "sup_a", 0.0),
    ("interventions", "rb", "nan", "rep_b", 0.5),
    ("interventions", "sp", "inf", "sup_p", 2.0),
    ("interventions", "placement", "middle", "interventions_placement", "post"),
    ("interventions", "view", "9", "interventions_view", 0),
    ("reconstruction", "log", "maybe", "reconstruction_log", False),
    ("placement", "weighted", "<b>x</b>", "placement_weighted", False),
    ("placement", "space", "4d", "placement_space", "Training replay (2-D)"),
    ("evidence", "seeds", "x" * 5000, "evidence_seeds", 8),
    ("evidence", "seeds", "1000", "evidence_seeds", 8),
]

OPENS = {"interventions_view": {"space": "3d"}}  # a control drawn in a tab: the link opens that tab too


@pytest.mark.parametrize(
    ("page", "name", "raw", "key", "default"), TAMPERED, ids=[f"{t[1]}={t[2][:8]}" for t in TAMPERED]
)
def test_a_tampered_value_falls_back_to_the_default_with_a_notice(page, name, raw, key, default):
    params = {"seed": "0", name: raw} if name != "seed" else {"seed": raw}
    params |= OPENS.get(key, {})
    at = _open(page, **params)
    assert _widget(at, key).value == default
    notices = [w.value for w in (*at.warning, *at.sidebar.warning) if f"`{name}=" in w.value]
    assert notices and "instead" in notices[0], [w.value for w in at.warning]
    assert len(notices[0]) < 300  # a 5,000-character value is not echoed back
    shown = TABS[key] if key in TABS else str(default if not isinstance(default, bool) else int(default))
    assert _url(at)[name] == shown.replace(".0", "")


def test_the_notice_goes_once_the_control_is_moved():
    at = _open("interventions", seed="0", sb="2")
    assert any("`sb=2`" in w.value for w in at.warning)
    _widget(at, "sup_b").set_value(0.5)
    at.run()
    assert not any("`sb=" in w.value for w in at.warning)
    assert _url(at)["sb"] == "0.5"
