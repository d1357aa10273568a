"""Downloads. st.download_button takes a callable and calls it only when the file is asked for, so a rerun
pays nothing for them; these return such callables (they may run outside a script run: no st.* inside except the
process-wide caches)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from excolor import export
from excolor.evaluate import Evaluation
from excolor.train import TrainedRun

from .caches import evaluation


def weights_file(run: TrainedRun) -> Callable[[], bytes]:
    return lambda: export.weights_bytes(run)


def recipe_json(run: TrainedRun) -> Callable[[], str]:
    return lambda: json.dumps(export.recipe_to_dict(run.recipe), indent=2) + "\n"


def latents_file(ev: Evaluation) -> Callable[[], str]:
    return lambda: export.latents_csv(ev.latents, ev.rgb_true, ev.rgb_out)


def metrics_file(runs: Sequence[TrainedRun], interventions: dict) -> Callable[[], str]:
    """max / median error and selectivity of every run under every intervention ({name: Intervention | None})."""

    def build() -> str:
        rows = []
        for run in runs:
            for name, iv in interventions.items():
                ev = evaluation(run, iv)
                rows.append(
                    {
                        "placement": run.recipe.design.text,
                        "seed": run.recipe.seed,
                        "intervention": name,
                        "parameters": repr(iv) if iv is not None else "",
                        **ev.metrics(),
                    }
                )
        return export.metrics_csv(rows)

    return build


def file_stem(run: TrainedRun) -> str:
    """A readable file name: the recipe with the schedule's digest cut to 10 hex digits (a name, not a cache key:
    the caches use the full one)."""
    r = run.recipe
    return f"excolor-{r.design.text}-s{r.seed}-b{r.batch_size}-{r.schedule.digest[:10]}"
