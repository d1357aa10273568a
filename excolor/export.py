"""Exports: trained weights with their recipe, metrics and latent coordinates as files a visitor keeps.

A weights file is a plain `torch.save` of {"format", "state_dict", "recipe"}: tensors only, so it loads
with `torch.load(weights_only=True)` and never runs code from the file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

import numpy as np
import torch

from .model import LAYERS, ColorAutoencoder
from .schedule import ScheduleError, parse_dopesheet, to_dopesheet
from .train import Recipe, TrainedRun

FORMAT = "excolor-weights-v1"
MAX_WEIGHTS_BYTES = 1_000_000


def recipe_to_dict(recipe: Recipe) -> dict:
    return {
        "placement": recipe.placement,
        "seed": recipe.seed,
        "batch_size": recipe.batch_size,
        "schedule": to_dopesheet(recipe.schedule),
    }


def recipe_from_dict(data: dict) -> Recipe:
    """Rebuild a Recipe, with a ValueError that says what is wrong for anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("the recipe must be a JSON object")
    try:
        schedule = parse_dopesheet(str(data["schedule"]))
        return Recipe(str(data["placement"]), data["seed"], schedule, data["batch_size"])
    except KeyError as err:
        raise ValueError(f"the recipe has no {err.args[0]!r}") from None
    except ScheduleError as err:
        raise ValueError(f"the recipe's schedule is invalid: {err}") from None


def weights_bytes(run: TrainedRun) -> bytes:
    """The run's weights and recipe as the bytes of a .pt file."""
    buffer = io.BytesIO()
    payload = {"format": FORMAT, "state_dict": run.weights, "recipe": json.dumps(recipe_to_dict(run.recipe))}
    torch.save(payload, buffer)
    return buffer.getvalue()


def load(source) -> tuple[ColorAutoencoder, Recipe]:
    """Load a weights file (path, bytes or binary file) into a model that gives the saved outputs."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"not an excolor weights file ({type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not an excolor weights file (unknown format)")
    state = payload.get("state_dict")
    expected = {f"{name}.{kind}": (fan_in, fan_out) for name, fan_in, fan_out in LAYERS for kind in ("weight", "bias")}
    if not isinstance(state, dict) or set(state) != set(expected):
        raise ValueError("the weights file does not hold the 3-16-4-16-3 autoencoder")
    for key, (fan_in, fan_out) in expected.items():
        shape = (fan_in, fan_out) if key.endswith("weight") else (fan_out,)
        if tuple(state[key].shape) != shape:
            raise ValueError(f"{key} has shape {tuple(state[key].shape)}, expected {shape}")
    recipe = recipe_from_dict(json.loads(payload.get("recipe", "null")))
    model = ColorAutoencoder([{k: v.float() for k, v in state.items()}]).eval()
    model.requires_grad_(False)
    return model, recipe


def csv_text(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for row in rows:
        out.write(",".join(_cell(v) for v in row) + "\n")
    return out.getvalue()


def _cell(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.8g}"
    text = str(value)
    return f'"{text}"' if "," in text else text


def latents_csv(latents: np.ndarray, true_rgb: np.ndarray, recon_rgb: np.ndarray) -> str:
    """One row per color: its true RGB, its reconstruction and its 4 latent coordinates."""
    header = ["r", "g", "b", "recon_r", "recon_g", "recon_b", "z0", "z1", "z2", "z3"]
    return csv_text(header, np.column_stack([true_rgb, recon_rgb, latents]).tolist())


def metrics_csv(rows: list[dict]) -> str:
    """Rows of flat dicts (same keys) as CSV, keys in first-seen order."""
    if not rows:
        return ""
    header = list(dict.fromkeys(k for row in rows for k in row))
    return csv_text(header, ([row.get(k, "") for k in header] for row in rows))
