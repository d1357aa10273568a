"""Browser end-to-end harness: the real `streamlit run app.py`, driven by Playwright through Debian's Chromium.

Never a downloaded browser: the tests use /usr/bin/chromium (`apt-get install -y chromium`) and skip, with that
reason, when it or the playwright package is missing. One server per theme (light, then dark on demand), each
started on a free loopback port and stopped at the end of the session.

The light server's first visit is the cold start: server start -> the placement page fully rendered with the
default models trained. It is measured in the fixture, before any other page is visited, so the number does not
depend on test order. Metrics go to artifacts/e2e-metrics.json and to the end of the normal pytest output.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
METRICS_FILE = ARTIFACTS / "e2e-metrics.json"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # WebGL for pydeck (deck.gl) without a GPU: ANGLE on SwiftShader, asked for explicitly (Chromium deprecates
    # the silent fallback to software WebGL), and no GPU blocklist in the way.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
]
VIEWPORT = {"width": 1400, "height": 1000}
# A touch phone as students hold it in class (iPhone 12 to 15: 390 x 844 CSS px).
PHONE = {"width": 390, "height": 844}

# The shared menu's labels, in order (excolor.app.shell.PAGES; icons are drawn apart from the label).
MENU = [
    "Hypothesis",
    "Regularizer placement",
    "Reconstruction error",
    "Suppression vs repulsion",
    "Experiment lab",
]
# (name, url path). Streamlit's folder mode derives url paths from the page file names; app.py is "/".
PAGES = [
    ("hypothesis", "/"),
    ("placement", "/placement"),
    ("reconstruction", "/reconstruction"),
    ("interventions", "/interventions"),
    ("evidence", "/evidence"),
]

SERVER_START_TIMEOUT = 60.0  # s until /_stcore/health answers "ok"
RENDER_TIMEOUT = 300.0  # s for a page to finish running and draw its charts (evidence trains many seeds)

METRICS: dict[str, object] = {}


def record_metric(name: str, value: object) -> None:
    """Keep a number for the end-of-run summary and write the metrics file at once (a crash keeps what we had)."""
    METRICS[name] = value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    METRICS_FILE.write_text(json.dumps(METRICS, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of one process, in kB; {} if it is gone."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                kids = [int(k) for k in children.read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


@dataclass
class Server:
    theme: str  # "light" or "dark" sets the server's theme; "system" leaves it to each browser's preference
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    log_path: Path | None = None
    started_epoch: float = 0.0  # time.time() at start: the page clock (PAGE_CLOCK_JS) reads the same wall clock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"streamlit-{self.theme}.log"
        cmd = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
            *(["--theme.base", self.theme] if self.theme != "system" else []),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.started_at, self.started_epoch = time.perf_counter(), time.time()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = self.started_at + SERVER_START_TIMEOUT
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"no /_stcore/health 'ok' within {SERVER_START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def memory_mb(self) -> dict[str, float]:
        """Peak and current RSS of the server and all its descendants, in MB (children summed: an upper bound)."""
        assert self.proc is not None
        pids = [self.proc.pid, *_descendants(self.proc.pid)]
        stats = [_proc_status(p) for p in pids]
        return {
            "peak_rss_mb": round(sum(s.get("VmHWM", 0) for s in stats) / 1024, 1),
            "rss_mb": round(sum(s.get("VmRSS", 0) for s in stats) / 1024, 1),
            "processes": len(pids),
        }


# --------------------------------------------------------------------------------------------- one page


# Streamlit's frontend, opened on a deep link such as /placement, first probes /placement/_stcore/health and
# /placement/_stcore/host-config to find its base path; the 404s it logs there are expected, not app errors.
_BASE_PATH_PROBE = re.compile(r"^https?://[^/]+/[^?#]+/_stcore/(health|host-config)$")

_CHART_STATE_JS = """() => {
  // charts in a hidden tab are not drawn until the tab is opened: only the ones on screen are waited for
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  const vega = charts.filter(chart => chart.getClientRects().length).map(chart => {
    const canvas = chart.querySelector('canvas');
    if (canvas) {  // canvas renderer: count painted pixels
      const ctx = canvas.getContext('2d');
      if (!ctx || !canvas.width || !canvas.height) return 0;
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n > 0 ? 1 : 0;
    }
    // svg renderer: data marks live in <g class="... role-mark ...">, axes and legends do not
    let marks = 0;
    for (const g of chart.querySelectorAll('svg g.role-mark')) marks += g.childElementCount;
    return marks;
  });
  // a deck in a closed tab has no box (and is not drawn): -1, not waited for
  const deck = [...document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')].map(
    chart => !chart.getClientRects().length ? -1 : chart.querySelector('canvas') ? 1 : 0);
  return {vega, deck};
}"""


# Every box in the main area that is wider than the screen or sticks out past its right edge, the outermost one
# per page element. A box is measured by the part its clipping ancestors let through (screen-reader-only text is a
# 1 px box), except a chart's drawing surface: a chart cut off by its container does not fit either. A box inside
# a deliberate sideways scroller (a dataframe's grid, a formula's own box, a row of tabs) is not counted: the
# scroller itself is, and it must fit. Any other scroller that actually scrolls sideways counts, since a chart you
# have to pan on a phone is not a chart that fits. Also: the widest figure (chart, 3-D view, diagram, table or
# formula), fitting or not.
_OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const CUT_SLACK = 6;  // px a chart's marks may reach past its edge: half a stroke, a point's radius
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return {viewport: vw, offenders: [], widest: null, pageScrollWidth: 0};
  const deliberate = '[data-testid="stDataFrame"], [data-testid="stTable"], [data-testid="stCode"], .katex-display, '
    + '[role="tablist"]';  // a row of tabs too wide for the screen is swiped, as on any phone
  const drawing = '[data-testid="stVegaLiteChart"] :is(canvas, svg), [data-testid="stDeckGlJsonChart"] canvas';
  const figure = ['stVegaLiteChart', 'stDeckGlJsonChart', 'stImage', 'stDataFrame', 'stTable']
    .map(id => `[data-testid="${id}"]`).join(', ') + ', .katex-display';
  const scrollsX = s => s.overflowX === 'auto' || s.overflowX === 'scroll';
  const visibleSpan = el => {  // [left, right] as seen on screen, or null inside a sideways scroller
    const r = el.getBoundingClientRect();
    let left = r.left, right = r.right;
    const surface = el.matches(drawing);
    for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (scrollsX(s)) return null;
      if (s.overflowX !== 'visible' && !surface) {
        const q = p.getBoundingClientRect();
        left = Math.max(left, q.left);
        right = Math.min(right, q.right);
      }
    }
    return [left, right];
  };
  const headings = [...main.querySelectorAll('h1, h2, h3')];
  const where = el => {
    const box = el.closest('[data-testid="stElementContainer"]') || el;
    const named = p => /^st/.test(p.getAttribute('data-testid') || '')
      && !/FullScreen|Toolbar|Tooltip|ElementContainer/.test(p.getAttribute('data-testid'));
    let kind = '';  // the nearest named Streamlit element around el (a chart, a table, a formula…), else inside
    for (let p = el; p && !kind; p = p === box ? null : p.parentElement) if (named(p)) kind = p.dataset.testid;
    const inner = [...box.querySelectorAll('[data-testid]')].find(named);
    kind = kind || (inner && inner.dataset.testid) || el.tagName.toLowerCase();
    let heading = '';
    for (const h of headings) {
      if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) heading = h.innerText;
    }
    return {box, what: `${kind} under "${heading.trim().slice(0, 60)}"`};
  };
  const offenders = new Map();
  let widest = null;
  for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const span = visibleSpan(el);
    if (!span || span[1] - span[0] < 1) continue;
    const [left, right] = span.map(Math.round);
    const {box, what} = where(el);
    if (el.closest(figure) && (!widest || right - left > widest.px)) widest = {px: right - left, right, what};
    const s = getComputedStyle(el);
    const sideways = scrollsX(s) && !el.closest(deliberate) && el.scrollWidth > el.clientWidth + 1;
    if (right - left > vw + 1 || right > vw + 1 || left < -1 || sideways) {
      const reach = sideways ? Math.round(r.left + el.scrollWidth) : right;
      const seen = offenders.get(box);
      if (!seen || reach > seen.right) {
        offenders.set(box, {what, width: right - left, right: reach, tag: el.tagName.toLowerCase()});
      }
    }
  }
  // A chart sized to its container can still draw past its own edge (a legend or a title wider than the chart),
  // where its canvas cuts it off. SVG charts show it: their content's extent against their width.
  for (const svg of main.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks')) {
    if (!svg.getClientRects().length) continue;
    const content = svg.getBBox(), width = svg.width.baseVal.value;
    if (content.x < -CUT_SLACK || content.x + content.width > width + CUT_SLACK) {
      const {box, what} = where(svg);
      offenders.set(box, {what: what + ' (cut off inside its chart)', width: Math.round(content.width),
                          right: Math.round(svg.getBoundingClientRect().left + content.x + content.width), tag: 'svg'});
    }
  }
  return {viewport: vw, offenders: [...offenders.values()], widest,
          pageScrollWidth: Math.max(document.documentElement.scrollWidth, main.scrollWidth)};
}"""


# When did the page last change or work? Installed in every tab before any script of the page runs: a
# MutationObserver notes the wall-clock time of the last change to the document (elements added, replaced, restyled,
# text), and a PerformanceObserver the end of the last long task (>50 ms of main-thread work: parsing a chart's
# data, a deck.gl draw waiting for software WebGL). Read once the waits below have confirmed the page complete, the
# later of the two is when the page was finished for its visitor: the waits' polling and settle time (0.6 s of
# quiet, to be sure no rerun follows) are the test's, not the page's. Anything that still moves the page while the
# waits run only makes the number later, never earlier.
PAGE_CLOCK_JS = """(() => {
  const clock = {lastChange: Date.now(), lastWorkEnd: 0};
  window.__excolorPageClock = clock;
  new MutationObserver(() => { clock.lastChange = Date.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  try {
    new PerformanceObserver(list => {
      for (const task of list.getEntries())
        clock.lastWorkEnd = Math.max(clock.lastWorkEnd, performance.timeOrigin + task.startTime + task.duration);
    }).observe({type: 'longtask', buffered: true});
  } catch (err) {}  // no long-task timing in this browser: document changes only
})()"""


class AppPage:
    """One browser tab on the app, collecting console errors, with Streamlit-aware waits."""

    def __init__(self, page, server: Server):
        page.add_init_script(PAGE_CLOCK_JS)
        self.page = page
        self.server = server
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.errors.append(f"pageerror: {err}"))

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if msg.text.startswith("Failed to load resource") and _BASE_PATH_PROBE.match(url):
            return
        self.errors.append(f"console error: {msg.text} ({url})")

    def goto(self, path: str) -> None:
        self.page.goto(self.server.url + path, wait_until="domcontentloaded")

    def finished_s(self) -> float:
        """Seconds from the server's start to the moment this page last changed or worked (see PAGE_CLOCK_JS);
        call it after the waits have confirmed the page complete."""
        clock = self.page.evaluate("() => window.__excolorPageClock")
        return max(clock["lastChange"], clock["lastWorkEnd"]) / 1000 - self.server.started_epoch

    # -- waits ---------------------------------------------------------------------------------------------

    def is_idle(self) -> bool:
        """The script has run to the end: connected, state notRunning, no 'running' widget in the header."""
        return bool(
            self.page.evaluate(
                """() => {
              const app = document.querySelector('[data-testid="stApp"]');
              return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-testid="stStatusWidget"]')
                && !!document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]');
            }"""
            )
        )

    def wait_idle(self, timeout: float = RENDER_TIMEOUT, settle: float = 0.6) -> None:
        """Until the app has been idle for `settle` seconds without interruption (reruns restart the clock)."""
        deadline = time.perf_counter() + timeout
        idle_since = None
        while time.perf_counter() < deadline:
            if self.is_idle():
                idle_since = idle_since or time.perf_counter()
                if time.perf_counter() - idle_since >= settle:
                    return
            else:
                idle_since = None
            self.page.wait_for_timeout(150)
        raise AssertionError(f"page still running after {timeout:.0f} s: {self.page.url}\n{self.exception_text()}")

    def chart_state(self) -> dict:
        return self.page.evaluate(_CHART_STATE_JS)

    def wait_charts(self, timeout: float = 60.0) -> dict:
        """Until every Vega-Lite chart has drawn marks and every deck.gl chart has painted its canvas."""
        deadline = time.perf_counter() + timeout
        while True:
            state = self.chart_state()
            vega_ok = all(n > 0 for n in state["vega"])
            shown = [i for i, n in enumerate(state["deck"]) if n >= 0]
            deck_ok = all(state["deck"][i] > 0 for i in shown) and all(self.deck_painted(i) for i in shown)
            if vega_ok and deck_ok:
                return state
            if time.perf_counter() > deadline:
                raise AssertionError(f"charts not drawn after {timeout:.0f} s on {self.page.url}: {state}")
            self.page.wait_for_timeout(300)

    def deck_painted(self, index: int, min_fraction: float = 0.002) -> bool:
        """A deck.gl canvas shows something: enough pixels differ from its most common (background) color."""
        from PIL import Image
        from playwright.sync_api import Error as PlaywrightError

        canvas = self.page.locator('[data-testid="stDeckGlJsonChart"]').nth(index).locator("canvas").first
        try:  # not yet laid out (no size) or replaced by a rerun: not painted yet, the caller polls again
            canvas.evaluate("e => e.scrollIntoView({block: 'center'})", timeout=5_000)
            image = Image.open(io.BytesIO(canvas.screenshot(timeout=5_000, animations="disabled"))).convert("RGB")
        except PlaywrightError:
            return False
        colors = image.getcolors(maxcolors=image.width * image.height)
        background = max(count for count, _ in colors)
        return (image.width * image.height - background) >= min_fraction * image.width * image.height

    def training_done(self) -> bool:
        """No training in sight: no running st.status 'Training…' and no progress bar in the shared sidebar."""
        return bool(
            self.page.evaluate(
                """() => !document.querySelector('[data-testid="stExpanderIconSpinner"]')
                  && !document.querySelector('[data-testid="stSidebar"] [data-testid="stProgress"]')"""
            )
        )

    def training_status_complete(self) -> bool:
        """An st.status labelled 'Training…' that ended complete ('done in …', check icon)."""
        for expander in self.page.locator('[data-testid="stExpander"]').all():
            label = expander.locator('summary [data-testid="stMarkdownContainer"]').first
            text = label.inner_text().strip() if label.count() else ""
            if (
                text.lower().startswith("training")
                and "done in" in text
                and expander.locator('[data-testid="stExpanderIconCheck"]').count()
            ):
                return True
        return False

    def training_seconds(self) -> float | None:
        """The seconds an st.status 'Training…: done in N s' reports, if the page shows one."""
        for text in self.page.locator('[data-testid="stExpander"] summary').all_inner_texts():
            match = re.search(r"^Training[^\n]*done in ([0-9.]+) s", text, re.MULTILINE)
            if match:
                return float(match.group(1))
        return None

    def wait_trained(self, path: str, timeout: float = RENDER_TIMEOUT) -> None:
        """Until this page, fully run, shows training finished. The sidebar is drawn at the start of a run, so a
        page that waited for training still shows the sidebar's old progress bar: its own finished
        st.status is enough; otherwise reload until the sidebar says the default pair is trained."""
        deadline = time.perf_counter() + timeout
        while True:
            self.wait_idle(timeout=max(deadline - time.perf_counter(), 1.0))
            if not self.menu() and time.perf_counter() < deadline:
                # looks idle, its main area drawn, but not the shell's menu yet: seen twice on a slow machine with a
                # busy server (cause not pinned down); the menu is the shell's first element, so wait for it
                self.page.wait_for_timeout(300)
                continue
            problems = self.shell_problems()  # without the shell's sidebar there is no training status to read
            assert not problems, f"{path}: " + "; ".join(problems)
            if self.training_status_complete() or self.training_done():
                return
            if time.perf_counter() > deadline:
                raise AssertionError(f"training not finished after {timeout:.0f} s on {path}")
            self.page.wait_for_timeout(500)
            self.goto(path)

    def start_and_wait_for(self, button: str, heading: str) -> None:
        """Press the button whose label starts with `button` if the page shows it (results trained earlier show at
        once, without it), then wait until an h2 containing `heading` is on the page and the page is idle."""
        start = self.page.get_by_role("button", name=re.compile("^" + re.escape(button)))
        if start.count():
            start.click()
        found = self.page.locator('[data-testid="stMain"] h2').filter(has_text=heading)
        deadline = time.perf_counter() + RENDER_TIMEOUT
        while not found.count():
            assert time.perf_counter() < deadline, f"{heading!r} never showed after {button!r}"
            self.page.wait_for_timeout(500)
        self.wait_idle()

    def render(self, path: str) -> dict:
        """Open a page and wait until it has run to the end and drawn every chart."""
        self.goto(path)
        self.wait_idle()
        return self.wait_charts()

    # -- checks and artifacts ------------------------------------------------------------------------------

    def exception_text(self) -> str:
        blocks = self.page.locator('[data-testid="stException"]')
        return "\n---\n".join(blocks.nth(i).inner_text() for i in range(blocks.count()))

    def menu(self) -> list[str]:
        """The labels of the shared menu the page shell draws in the sidebar (st.page_link), in order."""
        links = self.page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]')
        return [re.sub(r"^[^A-Za-z]+", "", text.strip()) for text in links.all_inner_texts()]  # minus the icon

    def shell_problems(self) -> list[str]:
        """Signs that the page shell (excolor.app.shell.page) did not run around the page: its page config, the
        shared menu, and no raw file list from Streamlit's own folder navigation ('app', 'evidence', …)."""
        problems = []
        title = self.page.title()
        if "excolor" not in title:
            problems.append(f"document title {title!r}: the shell's st.set_page_config did not run")
        raw = self.page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        if raw:
            problems.append(f"Streamlit's own navigation is shown {raw}: showSidebarNavigation is not off")
        menu = self.menu()
        if menu != MENU:
            problems.append(f"sidebar menu {menu}, expected {MENU}")
        return problems

    def assert_clean(self) -> None:
        exceptions = self.exception_text()
        assert not exceptions, f"Streamlit exception on {self.page.url}:\n{exceptions}"
        assert not self.errors, f"browser errors on {self.page.url}:\n" + "\n".join(self.errors)
        problems = self.shell_problems()
        assert not problems, f"{self.page.url}: " + "; ".join(problems)

    def overflow(self) -> dict:
        """What in the main area does not fit the screen's width (see _OVERFLOW_JS), and the widest figure."""
        return self.page.evaluate(_OVERFLOW_JS)

    def background_luminance(self) -> float:
        rgb = self.page.evaluate(
            """() => getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor"""
        )
        r, g, b = (int(v) for v in re.findall(r"\d+", rgb)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    def screenshot(self, name: str) -> Path:
        """A full-page screenshot. Streamlit scrolls inside its main container, not the document, so the
        viewport is grown to the content's height for the shot (the width, and so the layout, stays)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        height = self.page.evaluate(
            """() => Math.max(document.documentElement.scrollHeight,
                 ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"],'
                     + ' [data-testid="stSidebarContent"]')].map(e => e.scrollHeight))"""
        )
        size = self.page.viewport_size or VIEWPORT
        self.page.set_viewport_size({"width": size["width"], "height": min(max(int(height), size["height"]), 16000)})
        self.page.wait_for_timeout(500)
        try:
            self.wait_charts(timeout=30)
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
        return path
