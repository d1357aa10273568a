"""Process-wide caches of what the pages draw: evaluations, validation losses, sweep records, figures, decks.

Everything here is computed once per server process for a recipe (and intervention, and options) and shared by
every visitor: a slider moved to a position anyone has visited before costs nothing.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import OrderedDict
from collections.abc import Sequence

import streamlit as st

from excolor import measures
from excolor.evaluate import Evaluation, Probe, evaluate, prepare, validation_losses
from excolor.figures.latents3d import evaluation_deck
from excolor.interventions import Intervention, mapping_curve
from excolor.train import TrainedRun
from excolor.tuning import release_memory

from . import lens as color_lens
from .training import MAX_KEPT_RUNS

# Where an entry is big, the number kept follows from a budget in MB and the entry's measured size (issue 11: the
# whole server must stay under ~700 MB with a class on it).
PROBE_MB = 11.0  # the dense grid's unit latents and per-color errors (evaluate.Encoded)
EVALUATION_MB = 0.27  # 8,000 latents, outputs and errors on the RGB grid, the swatches, the error curves
DECK_MB = 0.6  # a latent view: 8,000 points as deck.gl JSON
PROBES_BUDGET_MB, EVALUATIONS_BUDGET_MB, DECKS_BUDGET_MB = 45, 32, 22


def entries(budget_mb: float, entry_mb: float) -> int:
    return max(1, int(budget_mb // entry_mb))


@st.cache_resource(max_entries=entries(PROBES_BUDGET_MB, PROBE_MB), show_spinner=False)
def _probe(key: str, _run: TrainedRun) -> Probe:
    return prepare(_run.model)


def probe(run: TrainedRun) -> Probe:
    """The run's evaluation grids, encoded once and shared (4 kept: two seeds' pairs)."""
    return _probe(run.recipe.key, run)


@st.cache_resource(max_entries=entries(EVALUATIONS_BUDGET_MB, EVALUATION_MB), show_spinner=False)
def _evaluation(key: str, intervention_key: str, _run: TrainedRun, _intervention: Intervention | None) -> Evaluation:
    return evaluate(probe(_run), _intervention)


def evaluation(run: TrainedRun, intervention: Intervention | None = None) -> Evaluation:
    """evaluate(run, intervention), shared across sessions and slider positions already visited."""
    return _evaluation(run.recipe.key, repr(intervention), run, intervention)


@st.cache_data(max_entries=MAX_KEPT_RUNS, show_spinner=False)
def _validation(key: str, _run: TrainedRun) -> dict[str, float]:
    return validation_losses(_run.model)


def validation(run: TrainedRun) -> dict[str, float]:
    """evaluate.validation_losses of a run, computed once per recipe."""
    return _validation(run.recipe.key, run)


@st.cache_resource(show_spinner=False)
def _records() -> tuple[OrderedDict[str, dict], threading.Lock, dict[str, threading.Lock]]:
    """Every measured sweep record by recipe key (least recently used first), the lock that guards it, and one lock
    per record being measured (so that thirty sessions asking for the same run at once measure it once)."""
    return OrderedDict(), threading.Lock(), {}


def run_record(run: TrainedRun) -> dict:
    """measures.run_record(run), computed once per recipe and shared by every session (the last MAX_KEPT_RUNS
    kept). Only the small record is kept: the ~20 MB of encoded evaluation grids behind it are dropped as soon as
    it is measured."""
    store, lock, measuring = _records()
    key = run.recipe.key
    with lock:
        one = measuring.setdefault(key, threading.Lock())
    with one:  # a second session asking for the same run waits for the first one's measurement
        known = measured_records([run])
        if known is not None:
            return known[0]
        record = measures.run_record(run)
        release_memory()  # measuring frees tens of MB: hand it back now, not after many runs
        with lock:
            store[key] = record
            while len(store) > MAX_KEPT_RUNS:
                store.popitem(last=False)
            measuring.pop(key, None)
    return copy.deepcopy(record)  # a copy, as st.cache_data would hand out: callers may change theirs


def measured_records(runs: Sequence[TrainedRun]) -> list[dict] | None:
    """The runs' sweep records if some page has measured every one of them already, else None. Never measures: a
    page that only mentions a comparison must not spend seconds of the shared CPU measuring it."""
    store, lock, _ = _records()
    keys = [run.recipe.key for run in runs]
    with lock:
        if not all(key in store for key in keys):
            return None
        for key in keys:
            store.move_to_end(key)
        return [copy.deepcopy(store[key]) for key in keys]


# --------------------------------------------------------------------------------------------------
# Latent views: an 8,000-point deck is the most expensive thing a page draws, so each one is built once


class FrozenDeck:
    """A built deck, serialized once. st.pydeck_chart only reads to_json(), _tooltip and layers, and calls
    to_json() on every rerun: ~0.03 s for 8,000 points, paid again for every view on every slider move."""

    def __init__(self, deck):
        self._json = deck.to_json()
        self._tooltip = deck._tooltip
        self.layers = []  # nothing left for Streamlit to convert: the JSON is final

    def to_json(self) -> str:
        return self._json


@st.cache_resource(max_entries=entries(DECKS_BUDGET_MB, DECK_MB), show_spinner=False)
def _latent_view(
    key: str, intervention_key: str, dims: tuple, size: int, tilt: float, lens: str | None, _run, _intervention
):
    ev = evaluation(_run, _intervention)
    deck, caption = evaluation_deck(ev, dims, _intervention, size=size, tilt=tilt, lens=lens)
    return FrozenDeck(deck), caption


def latent_view(
    run: TrainedRun, intervention: Intervention | None, dims: Sequence[int], size: int = 500, tilt: float = 0.0
) -> tuple[FrozenDeck, str]:
    """latents3d.evaluation_deck for a run and intervention (with its cones): built once per view and shared
    by every session; 36 kept, enough for two placements × four interventions × three views. Drawn through the
    session's color-vision lens (app.lens), if one is on."""
    lens = color_lens.current()
    return _latent_view(run.recipe.key, repr(intervention), tuple(dims), size, tilt, lens, run, intervention)


class FrozenChart:
    """An Altair chart converted once to the Vega-Lite spec Streamlit sends (data as Arrow bytes), described by
    its caption when it has no description of its own: Streamlit (1.67) gives a spec's top-level description to
    the chart as its accessible name, so a screen reader announces what the caption says.

    st.altair_chart re-validates and re-serializes a chart on every rerun (~15 ms to 0.1 s each); with a
    classroom of sessions that, not the science, was the server's bottleneck. A frozen chart is converted
    the first time any session builds it and handed over as-is afterwards.
    """

    def __init__(self, chart, description: str | None = None):
        try:  # Streamlit's own conversion, so the spec is exactly what st.altair_chart would send
            from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

            self.spec = _convert_altair_to_vega_lite_spec(chart)
        except ImportError:  # a future Streamlit without it: plain Vega-Lite JSON still works
            self.spec = chart.to_dict()
        if (
            isinstance(description, str) and description and not self.spec.get("description")
        ):  # Vega: the chart's aria-label (its accessible name)
            self.spec["description"] = description


def show_chart(chart, **kwargs):
    """Draw a FrozenChart (or a plain Altair chart) with Streamlit's theme, so both light and dark read well. A
    frozen chart's description is its accessible name: an `alt` is used only where the spec has none."""
    if isinstance(chart, FrozenChart):
        text = kwargs.pop("alt", None)
        spec = chart.spec if chart.spec.get("description") or not text else {**chart.spec, "description": text}
        return st.vega_lite_chart(spec, theme="streamlit", **kwargs)
    return st.altair_chart(chart, theme="streamlit", **kwargs)


# A panel takes its column's width, and its builder's height is its plot's: its legend, below it, adds to that.
# (Streamlit's theme fits both, so a legend moved below a plot would squash the plot instead.)
FIT_WIDTH = {"type": "fit-x", "contains": "padding"}


def show_panels(panels: Sequence, per_row: int, **kwargs) -> None:
    """Charts drawn `per_row` to a row, each as wide as its column. A figure of several panels must not be one
    wide chart: Streamlit stacks columns on a narrow screen, so on a phone the panels come one under the other,
    each the screen's width, while a projector shows them side by side."""
    for start in range(0, len(panels), per_row):
        for col, chart in zip(st.columns(per_row, gap="medium"), panels[start : start + per_row]):
            with col:
                show_chart(chart, width="stretch", **kwargs)


@st.cache_resource(max_entries=256, show_spinner=False)
def _frozen(key: str, _build):
    chart, caption = _build()
    if isinstance(chart, list):  # the panels of one figure (e.g. error_curves.error_curve_panels), for show_panels
        return [FrozenChart(panel.properties(autosize=FIT_WIDTH), caption) for panel in chart], caption
    return FrozenChart(chart, caption), caption


def frozen_chart(key: str, build) -> tuple[FrozenChart, str]:
    """build() -> (chart or list of panel charts, caption), run once per key for the whole server; `key` must name
    every input."""
    return _frozen(key, build)


def _figure(name: str, run_key: str, intervention_key: str, options: str, _build):
    return _frozen(f"{name}|{run_key}|{intervention_key}|{options}", _build)


def figure(builder, run: TrainedRun, intervention=None, of: str = "evaluation", **options):
    """builder(x, **options) -> (chart or list of panel charts, caption), built once per recipe, intervention(s)
    and options and shared by every session. x is the run's evaluation under the intervention (of="evaluation"; a
    dict of interventions gives a dict of evaluations, e.g. for named_colors.named_colors_chart), its error curves
    (of="curves") or the intervention's mapping curve (of="mapping", e.g. mappings.mapping_chart). A slider move
    then rebuilds only the figures of the intervention it changed. A builder with a `lens` argument draws through the
    session's color-vision lens (app.lens), if one is on: part of the key, like every option."""
    lens = color_lens.current()
    if lens is not None and "lens" in inspect.signature(builder).parameters:
        options = {**options, "lens": lens}

    def build():
        if of == "mapping":
            return builder(mapping_curve(intervention), **options)
        if isinstance(intervention, dict):
            return builder({name: evaluation(run, iv) for name, iv in intervention.items()}, **options)
        ev = evaluation(run, intervention)
        return builder(ev.curves if of == "curves" else ev, **options)

    name = f"{builder.__module__}.{builder.__qualname__}({of})"
    return _figure(name, run.recipe.key, repr(intervention), repr(sorted(options.items())), build)
