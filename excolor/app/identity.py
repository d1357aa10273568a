"""Who a visitor is, for the bounds: a long-lived browser identity plus the client address, never the session.

A script opens Streamlit sessions as fast as the server answers, so a session is no identity. The browser's
identity is a random token (codes.new_token) kept in a first-party cookie for a year: read from the page's first
request (st.context.cookies); a browser that did not send it gets a new one, kept for the session and written to
the cookie by a two-line script (st.html), so its next session, tab or reload is the same visitor. A client that
drops cookies gets a new identity per session, and then the address bounds it (excolor.classmode.limits).

The address is the connection's (st.context.ip_address), or, behind a reverse proxy the operator trusts
(EXCOLOR_TRUSTED_PROXY=N, N proxies), the Nth address from the right of X-Forwarded-For: the one the nearest
trusted proxy saw (entries further left are whatever the client wrote).
"""

from __future__ import annotations

import os

import streamlit as st

from excolor.classmode.codes import is_token, new_token
from excolor.classmode.limits import Who

COOKIE = "excolor_visitor"
COOKIE_DAYS = 365
TRUSTED_PROXY_ENV = "EXCOLOR_TRUSTED_PROXY"
_TOKEN = "_visitor_token"


def _sent_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (bare script, some test runners): no cookie
        return None
    return token if is_token(token) else None


def token() -> str:
    """This browser's token: the cookie's if it sent a valid one, else a new one kept for the session."""
    if _TOKEN not in st.session_state:
        st.session_state[_TOKEN] = _sent_token() or new_token()
    return st.session_state[_TOKEN]


def trusted_proxies() -> int:
    raw = os.environ.get(TRUSTED_PROXY_ENV, "").strip()
    return int(raw) if raw.isdigit() else 0


def address() -> str | None:
    """The client address: the connection's, or the trusted proxy's view of it (see the module's docstring)."""
    n = trusted_proxies()
    if n:
        try:
            hops = [h.strip() for line in st.context.headers.get_all("X-Forwarded-For") for h in line.split(",")]
        except Exception:  # noqa: BLE001 - no request context
            hops = []
        hops = [h for h in hops if h]
        if len(hops) >= n:
            return hops[-n][:64]
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context
        return None


def visitor() -> Who:
    """This visitor as the class store and the training queue count them."""
    return Who(token(), address())


def remember() -> None:
    """Write the token to the browser's cookie when the browser did not send it (call once per run, in the
    sidebar: the element is empty)."""
    value = token()
    if _sent_token() == value:
        return
    secure = "+(location.protocol==='https:'?'; Secure':'')"
    st.html(
        f"<script>document.cookie='{COOKIE}={value}; Max-Age={COOKIE_DAYS * 86400}; Path=/; SameSite=Lax'{secure};"
        "</script>",
        unsafe_allow_javascript=True,
    )
