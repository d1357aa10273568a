"""URL-bound controls: every control that changes a result is mirrored in the query string.

A link then opens the same view in a new browser session. A page binds a control before drawing its widget and
publishes the widget's value after it; anything missing, invalid or tampered falls back to the default with a
visible notice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

from excolor.designs import PRESET_TITLES
from excolor.figures.latents3d import VIEWS
from excolor.train import MAX_SEED

from .training import DEFAULT_SEED

MAX_PARAM_CHARS = 64  # longer than any valid value (the longest design text has 48): a 5,000-character value is refused
_UNSET = object()
TAB_PARAMS: dict[str, UrlParam] = {}  # every tabs_param by URL name: what a teacher's position names (app.follow)


def _fmt_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


KNOWN_PARAMS: set[str] = set()  # every UrlParam's name: the only ones a "link to this view" repeats
SECRET_PARAMS = {"teach"}  # the teacher key: in the teacher's address bar only, never in a caption or on a projector


@dataclass(frozen=True)
class UrlParam:
    """A control mirrored in the URL: `name` in the query string, `key` in session state (the widget's key).

    parse(text) returns the value or raises ValueError (its message says what is allowed); fmt(value) is the text
    the URL holds (the inverse of parse)."""

    name: str
    default: object
    parse: Callable[[str], object]
    key: str | None = None
    fmt: Callable[[object], str] = _fmt_value

    def __post_init__(self) -> None:
        KNOWN_PARAMS.add(self.name)

    @property
    def state_key(self) -> str:
        return self.key or self.name


def parse_int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        text = text.strip()
        if not text.isdigit() or not lo <= int(text) <= hi:
            raise ValueError(f"a whole number from {lo} to {hi:,}")
        return int(text)

    return parse


SEED = UrlParam("seed", DEFAULT_SEED, parse_int(0, MAX_SEED))


def parse_choice(options: Sequence, fmt: Callable = _fmt_value) -> Callable[[str], object]:
    """One of `options`; numbers match within 1e-9 (so sa=0.3 and sa=0.30 both mean 0.3)."""

    def parse(text: str):
        text = text.strip()
        for option in options:
            if text == fmt(option):
                return option
        if options and all(isinstance(o, int | float) and not isinstance(o, bool) for o in options):
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            for option in options:
                if abs(number - option) < 1e-9:
                    return option
        shown = ", ".join(fmt(o) for o in options[:3]) + (f", … {fmt(options[-1])}" if len(options) > 3 else "")
        raise ValueError(f"one of {shown}")

    return parse


def parse_bool(text: str) -> bool:
    value = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}.get(text.strip().lower())
    if value is None:
        raise ValueError("1 or 0")
    return value


def _quoted(text: str) -> str:
    shown = text if len(text) <= 24 else text[:20] + "…"
    return "`" + shown.replace("`", "'").replace("\n", " ") + "`"


def bind(param: UrlParam, default=_UNSET, valid: Callable[[object], bool] | None = None):
    """Put the control's value in session state before its widget is drawn, and return it.

    The first time this session sees the control, the value comes from the URL (or the default, with a notice
    if the URL's value is not allowed). Later it is the widget's own state, or, when Streamlit dropped that
    because another page was shown, the shadow copy publish() keeps. `default` overrides param.default (for
    defaults known only at run time, e.g. the last replay step); `valid` rejects values that parse but do not
    fit the run being shown (then the default is used)."""
    ss = st.session_state
    key = param.state_key
    default = param.default if default is _UNSET else default
    seen = ss.setdefault("_url_seen", set())
    shadow = ss.setdefault("_url_shadow", {})
    notices = ss.setdefault("_url_notices", {})
    if key not in seen:
        seen.add(key)
        value, raw = default, st.query_params.get(param.name)
        if raw is not None:
            try:
                if len(raw) > MAX_PARAM_CHARS:
                    raise ValueError(f"at most {MAX_PARAM_CHARS} characters")
                value = param.parse(raw)
                if valid is not None and not valid(value):
                    raise ValueError("a value this view offers")
            except ValueError as err:
                value = default
                instead = "ignoring it" if default is None else f"using {param.name} = {param.fmt(default)} instead"
                notices[key] = (
                    f"The link's `{param.name}={_quoted(raw)[1:-1]}` is not valid (expected {err}); {instead}.",
                    default,
                )
        ss[key] = value
    elif key not in ss:
        ss[key] = shadow.get(key, default)
    if valid is not None and not valid(ss[key]):
        ss[key] = default
    if key in notices:
        message, fallback = notices[key]
        if ss[key] == fallback:
            st.warning(message, icon="🔗")
        else:  # the visitor has moved the control since: the notice is out of date
            del notices[key]
    return ss[key]


def forget(param: UrlParam) -> None:
    """Have this session read the control from the URL again the next time it is bound (a teacher's move)."""
    st.session_state.get("_url_seen", set()).discard(param.state_key)
    st.session_state.get("_url_shadow", {}).pop(param.state_key, None)


def publish(param: UrlParam, value) -> None:
    """Write the widget's value to the URL (and to the shadow copy that survives page switches). A changed value
    also redraws the sidebar's link: a control inside a fragment reruns only the fragment, and the link, drawn by
    the page, would otherwise keep the old value while the address bar has the new one."""
    st.session_state.setdefault("_url_shadow", {})[param.state_key] = value
    text = param.fmt(value)
    if st.query_params.get(param.name) != text:
        st.query_params[param.name] = text
        slot = st.session_state.get(_LINK_SLOT)
        if slot is not None:
            _draw_link(slot)


def placement_param(key: str) -> UrlParam:
    """The URL's `placement` (pre / post, default post), kept under a page's own widget key."""
    return UrlParam("placement", "post", parse_choice(("pre", "post")), key=key)


def view_param(key: str) -> UrlParam:
    """The URL's `view`: which of latents3d.VIEWS a page's 3-D views show (default the color wheel)."""
    return UrlParam("view", 0, parse_choice(tuple(range(len(VIEWS)))), key=key)


def tabs_param(name: str, labels: Mapping[str, str], key: str) -> UrlParam:
    """The URL's `name`: which of the tabs `labels` (URL text -> tab label) is open; the first by default."""
    tokens = {label: token for token, label in labels.items()}
    options = tuple(labels.values())
    param = UrlParam(name, options[0], parse_choice(options, tokens.get), key=key, fmt=tokens.get)
    TAB_PARAMS[name] = param
    return param


def tabs_control(param: UrlParam, labels: Mapping[str, str]) -> dict[str, object]:
    """Tabs whose open one is mirrored in the URL (param from tabs_param(name, labels, key)), as {URL text:
    container}. Only the open tab's content runs (st.tabs tracks its state and reruns on a switch: in a fragment,
    only the fragment), so a costly tab costs nothing until a visitor opens it; a closed tab has `.open` False."""
    bind(param)
    tabs = st.tabs(list(labels.values()), key=param.state_key, on_change="rerun")
    publish(param, st.session_state[param.state_key])
    return dict(zip(labels, tabs, strict=True))


def placement_control(param: UrlParam, help: str) -> str:
    """The pre / post toggle shared by the pages, published to the URL; bind(param) must come first."""
    placement = st.segmented_control(
        "Regularizer placement",
        options=("pre", "post"),
        format_func=PRESET_TITLES.get,
        required=True,
        key=param.state_key,
        help=help,
    )
    publish(param, placement)
    return placement


def toggle_control(param: UrlParam, label: str, help: str) -> bool:
    """An on/off switch mirrored in the URL (e.g. `weighted`, `log`): bound before it is drawn, published after."""
    bind(param)
    value = st.toggle(label, key=param.state_key, help=help)
    publish(param, value)
    return value


def view_control(param: UrlParam, help: str) -> int:
    """The latent-view selector (screen x, screen y, toward you), published to the URL; bind(param) first."""
    view = st.segmented_control(
        "View (screen x, screen y, toward you)",
        options=range(len(VIEWS)),
        format_func=lambda i: "dims {}, {}, {}".format(*VIEWS[i]),
        required=True,
        key=param.state_key,
        help=help,
    )
    publish(param, view)
    return view


def link_to_view() -> str:
    """The query string of this view, e.g. '?seed=3&placement=pre', for a "link to this view" caption: only the
    app's own parameters, at their allowed length (a link's unknown or oversized ones are not repeated)."""
    params = {
        name: value
        for name, value in st.query_params.to_dict().items()
        if name in KNOWN_PARAMS and name not in SECRET_PARAMS and len(value) <= MAX_PARAM_CHARS
    }
    return "?" + urlencode(params) if params else ""


_LINK_SLOT = "_url_link_slot"  # the sidebar slot of this session's latest page run, where publish() redraws


def show_link(slot) -> None:
    """The "link to this view" caption in `slot` (the page's sidebar slot), remembered for publish()."""
    st.session_state[_LINK_SLOT] = slot
    _draw_link(slot)


def _draw_link(slot) -> None:
    query = link_to_view()
    if query:
        slot.caption(f"🔗 Link to this view: the address bar holds every setting above. Relative link: `{query}`")


def seed_from_sidebar() -> int:
    """The shared sidebar's seed control, drawn where the caller puts it (app.py: in the sidebar, on every page,
    so its value persists)."""
    bind(SEED)
    seed = int(
        st.number_input(
            "Seed",
            min_value=0,
            max_value=MAX_SEED,
            step=1,
            key="seed",
            help="Changes the initial weights, the batches and the labels. Each seed is trained once per "
            "server and shared by every visitor.",
        )
    )
    publish(SEED, seed)
    return seed
