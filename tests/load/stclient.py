"""A minimal Streamlit client for load tests: Streamlit 1.67's websocket protocol, no browser.

What the server (streamlit/web/server/starlette/starlette_websocket.py) needs:

- a websocket at ``ws://<host>:<port>/_stcore/stream``. The ``Sec-WebSocket-Protocol`` header is reused to
  carry tokens: entry 1 is the subprotocol the server echoes (the frontend sends ``streamlit``), entry 2 an
  XSRF token, entry 3 a session id to reconnect to. Entries 2 and 3 only matter for auth cookies and
  reconnects, so one entry, ``streamlit``, is enough; no cookie is needed either;
- an ``Origin`` that is absent or same-origin (equal to the Host header), else the socket is closed with 1008;
- binary frames only: each frame is one serialized ``BackMsg`` (client to server) or ``ForwardMsg`` (server to
  client). Nothing is sent until the client asks for a script run.

A page visit is ``BackMsg(rerun_script=ClientState(...))``. With ``st.navigation`` the server resolves the page
from ``page_script_hash`` if set, else from ``page_name`` matched against each page's ``url_pathname`` (the
default page's is ``""``). The reply is ``new_session`` (carrying the run id), ``navigation`` (every page with
its hash and url path, and the hash of the page actually run), the deltas, and ``script_finished`` tagged with
the same run id. Without ``cached_message_hashes`` in the request the server sends every message in full,
never a ``ref_hash`` to a message the client is supposed to have cached.

A button click is the same request with ``widget_states`` holding ``WidgetState(id=<button id>,
trigger_value=True)``; widgets left out keep their session-state values. A fragment with ``run_every``
announces itself with ``auto_rerun(interval, fragment_id)``; a browser tab then re-requests the page with that
``fragment_id`` and ``is_auto_rerun`` every interval, which ``dwell`` reproduces.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Dataframe_pb2 import Dataframe
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_SUCCESSFULLY = ForwardMsg.ScriptFinishedStatus.Name(ForwardMsg.FINISHED_SUCCESSFULLY)
FRAGMENT_FINISHED = ForwardMsg.ScriptFinishedStatus.Name(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


@dataclass
class Visit:
    """One script run as the client saw it: a page request, a button click on it, or a fragment rerun."""

    url_path: str
    kind: str = "page"  # "page", "click" or "fragment"
    seconds: float = 0.0  # from sending the request to receiving the run's script_finished
    finished: str = ""  # ScriptFinishedStatus name
    page_hash_requested: str = ""
    page_hash_run: str = ""  # navigation.page_script_hash: the page the server actually ran
    page_not_found: bool = False
    headings: list[str] = field(default_factory=list)  # main-area headings, to see which page came back
    main_elements: int = 0  # new elements in the main area (delta_path[0] == 0)
    buttons: dict[str, str] = field(default_factory=dict)  # label -> widget id
    exceptions: list[str] = field(default_factory=list)  # "Type: message" of every exception element
    error_alerts: list[str] = field(default_factory=list)  # st.error bodies
    warning_alerts: list[str] = field(default_factory=list)  # st.warning bodies
    editors: list[str] = field(default_factory=list)  # widget ids of editable tables (st.data_editor)
    number_inputs: dict[str, str] = field(default_factory=dict)  # label -> widget id
    radios: dict[str, str] = field(default_factory=dict)  # label -> widget id (its value: the option's text)
    messages: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        if self.exceptions or self.page_not_found:
            return False
        if self.kind == "fragment" and self.finished == FRAGMENT_FINISHED:
            return True
        return (
            self.finished == FINISHED_SUCCESSFULLY
            and self.page_hash_run == self.page_hash_requested
            and self.main_elements > 0
        )


class StreamlitSession:
    """One browser tab's worth of protocol: connect once, then run pages one after another."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.url = f"ws://{host}:{port}/_stcore/stream"
        self.origin = f"http://{host}:{port}"
        self.ws = None
        self.page_hashes: dict[str, str] = {}  # url path -> page_script_hash, learned from `navigation`
        self.current_page = ""
        self.auto_reruns: dict[str, float] = {}  # fragment id -> seconds, as announced by the last run
        self.in_flight: Visit | None = None  # the run requested and not finished yet
        self.in_flight_since = 0.0

    async def __aenter__(self) -> StreamlitSession:
        self.ws = await websockets.connect(
            self.url,
            subprotocols=["streamlit"],
            origin=self.origin,
            proxy=None,  # loopback only, whatever the environment's proxy settings say
            max_size=None,  # charts can be large; the server caps messages itself
            open_timeout=30,
            ping_interval=None,  # a busy server must not be mistaken for a dead one mid-measurement
            close_timeout=5,
        )
        if self.ws.subprotocol != "streamlit":
            raise RuntimeError(f"server did not accept the 'streamlit' subprotocol: {self.ws.subprotocol!r}")
        return self

    async def __aexit__(self, *exc) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def visit(
        self, url_path: str, timeout: float, click: str | None = None, query: str = "", widgets=()
    ) -> Visit:
        """Run a page like a browser would: by hash once known (in-app navigation), else by url path.
        `click`: the widget id of a button on that page to press in this run; `query`: the URL's query string
        (`seed=40`); `widgets`: WidgetState values sent along (e.g. an edited table, see edit_table)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.page_name = url_path
        state.page_script_hash = self.page_hashes.get(url_path, "")
        state.query_string = query
        state.widget_states.SetInParent()  # widgets left out keep their session-state values
        for widget in widgets:
            state.widget_states.widgets.append(widget)
        if click:
            state.widget_states.widgets.add(id=click, trigger_value=True)
        self.current_page = url_path
        visit = Visit(url_path, "click" if click else "page", page_hash_requested=state.page_script_hash)
        return await self._run(msg, visit, timeout)

    async def dwell(self, seconds: float, timeout: float) -> list[Visit]:
        """Stay on the current page for `seconds`, rerunning its `run_every` fragments as a browser tab does."""
        end = time.perf_counter() + seconds
        due = {fid: time.perf_counter() + every for fid, every in self.auto_reruns.items()}
        runs = []
        while time.perf_counter() < end:
            due = {fid: due.get(fid, time.perf_counter() + every) for fid, every in self.auto_reruns.items()}
            if not due:
                await asyncio.sleep(max(0.0, end - time.perf_counter()))
                break
            fragment, at = min(due.items(), key=lambda item: item[1])
            if at >= end:
                await asyncio.sleep(max(0.0, end - time.perf_counter()))
                break
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            msg = BackMsg()
            state = msg.rerun_script
            state.page_name = self.current_page
            state.page_script_hash = self.page_hashes.get(self.current_page, "")
            state.widget_states.SetInParent()
            state.fragment_id = fragment
            state.is_auto_rerun = True
            visit = Visit(self.current_page, "fragment", page_hash_requested=state.page_script_hash)
            runs.append(await self._run(msg, visit, timeout))
            due[fragment] = time.perf_counter() + self.auto_reruns.get(fragment, 0.0)
        return runs

    async def _run(self, msg: BackMsg, visit: Visit, timeout: float) -> Visit:
        start = self.in_flight_since = time.perf_counter()
        self.in_flight = visit
        await self.ws.send(msg.SerializeToString())
        deadline = start + timeout
        run_id = None
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"{visit.kind} {visit.url_path!r}: no script_finished within {timeout:.0f} s")
            raw = await asyncio.wait_for(self.ws.recv(), remaining)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            visit.messages += 1
            visit.bytes += len(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":  # every run starts with one; a st.rerun() inside a run starts another
                run_id = fwd.metadata.run.script_run_id
                if not fwd.metadata.run.fragment_ids:
                    self.auto_reruns.clear()  # a full run re-announces the fragments that still poll
            elif kind == "navigation":
                for page in fwd.navigation.app_pages:
                    self.page_hashes[page.url_pathname] = page.page_script_hash
                visit.page_hash_run = fwd.navigation.page_script_hash
            elif kind == "auto_rerun":
                self.auto_reruns[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fid in fwd.stop_auto_rerun.fragment_ids:
                    self.auto_reruns.pop(fid, None)
            elif kind == "page_not_found":
                visit.page_not_found = True
            elif kind == "delta":
                self._read_delta(fwd, visit)
            elif kind == "ref_hash":
                raise RuntimeError("server sent a ref_hash although the client declared no cached messages")
            elif kind == "script_finished" and run_id is not None and fwd.metadata.run.script_run_id == run_id:
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # st.rerun(): the next run's messages follow on this socket
                visit.seconds = time.perf_counter() - start
                visit.finished = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                if not visit.page_hash_requested:  # first visit by url path: check it against the page list
                    visit.page_hash_requested = self.page_hashes.get(visit.url_path, "")
                self.in_flight = None
                return visit

    @staticmethod
    def _read_delta(fwd: ForwardMsg, visit: Visit) -> None:
        delta = fwd.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        in_main = bool(fwd.metadata.delta_path) and fwd.metadata.delta_path[0] == 0
        if in_main:
            visit.main_elements += 1
        if kind == "exception":
            visit.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            visit.error_alerts.append(element.alert.body)
        elif kind == "alert" and element.alert.format == Alert.WARNING:
            visit.warning_alerts.append(element.alert.body)
        elif kind == "dataframe" and element.dataframe.editing_mode != Dataframe.EditingMode.READ_ONLY:
            visit.editors.append(element.dataframe.id)
        elif kind == "number_input":
            visit.number_inputs[element.number_input.label] = element.number_input.id
        elif kind == "radio":
            visit.radios[element.radio.label] = element.radio.id
        elif kind == "heading" and in_main:
            visit.headings.append(element.heading.body)
        elif kind == "button":
            visit.buttons[element.button.label] = element.button.id


def edit_table(widget_id: str, edited_rows: dict[int, dict[str, str]]) -> WidgetState:
    """An st.data_editor's value as the browser sends it after cells were typed in: {row: {column: text}}."""
    value = {
        "edited_rows": {str(row): cells for row, cells in edited_rows.items()},
        "added_rows": [],
        "deleted_rows": [],
    }
    return WidgetState(id=widget_id, string_value=json.dumps(value))
