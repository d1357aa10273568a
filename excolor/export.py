"""Exports: trained weights with their recipe, metrics and latent coordinates as files a visitor keeps.

A weights file is a plain `torch.save` of {"format", "state_dict", "recipe"}: tensors only, so it loads
with `torch.load(weights_only=True)` and never runs code from the file.
"""

from __future__ import annotations

import io
import json
import os
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
        "placement": recipe.design.text,
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


def recipe_from_json(text) -> Recipe:
    """The recipe stored in a weights file: JSON text of recipe_to_dict (anything else is a ValueError)."""
    if not isinstance(text, str):
        raise ValueError(f"the recipe must be JSON text, not {type(text).__name__}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        raise ValueError("the recipe is not valid JSON") from None
    return recipe_from_dict(data)


def weights_bytes(run: TrainedRun) -> bytes:
    """The run's weights and recipe as the bytes of a .pt file."""
    buffer = io.BytesIO()
    payload = {"format": FORMAT, "state_dict": run.weights, "recipe": json.dumps(recipe_to_dict(run.recipe))}
    torch.save(payload, buffer)
    return buffer.getvalue()


def load(source) -> tuple[ColorAutoencoder, Recipe]:
    """Load a weights file (path, bytes or binary file) into a model that gives the saved outputs.

    Anything that is not an intact weights file written by `weights_bytes` (truncated, too large, another
    format, missing keys, wrong types or shapes, a broken recipe) raises ValueError with a one-line reason.
    Non-finite weights are not malformed: a diverged run saves and loads as it was.
    """
    payload = torch_payload(read_weights_file(source))
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not an excolor weights file (unknown format)")
    state = checked_state(payload.get("state_dict"))
    if "recipe" not in payload:
        raise ValueError("the weights file has no recipe")
    recipe = recipe_from_json(payload["recipe"])
    model = ColorAutoencoder([{k: v.float() for k, v in state.items()}]).eval()
    model.requires_grad_(False)
    return model, recipe


def read_weights_file(source) -> bytes:
    """The file's bytes, refusing more than MAX_WEIGHTS_BYTES (a real one is a few KB plus its schedule)."""
    try:
        if isinstance(source, bytes | bytearray):
            data = bytes(source[: MAX_WEIGHTS_BYTES + 1])
        elif isinstance(source, str | os.PathLike):
            with open(source, "rb") as file:
                data = file.read(MAX_WEIGHTS_BYTES + 1)
        else:
            data = source.read(MAX_WEIGHTS_BYTES + 1)
    except OSError as err:
        raise ValueError(f"cannot read the weights file: {err.strerror or err}") from None
    except AttributeError:
        raise ValueError(f"cannot read weights from {type(source).__name__}; give a path, bytes or a file") from None
    if not isinstance(data, bytes):
        raise ValueError("the weights file must be opened in binary mode")
    if len(data) > MAX_WEIGHTS_BYTES:
        raise ValueError(f"not an excolor weights file (larger than {MAX_WEIGHTS_BYTES // 1_000_000} MB)")
    return data


def torch_payload(data: bytes):
    """torch.load with weights_only: plain containers and tensors, never code from the file."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, random bytes, another pickle: torch raises many different types
        raise ValueError(f"not an excolor weights file ({type(err).__name__})") from None


def checked_state(state) -> dict[str, torch.Tensor]:
    """The state dict, if it holds exactly the 3-16-4-16-3 autoencoder as dense floating-point tensors."""
    expected = {f"{name}.{kind}": (fan_in, fan_out) for name, fan_in, fan_out in LAYERS for kind in ("weight", "bias")}
    if not isinstance(state, dict) or set(state) != set(expected):
        raise ValueError("the weights file does not hold the 3-16-4-16-3 autoencoder")
    for key, (fan_in, fan_out) in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{key} must be a tensor, not {type(value).__name__}")
        if value.layout != torch.strided or not value.is_floating_point():
            raise ValueError(f"{key} must be a dense floating-point tensor, not {value.layout} {value.dtype}")
        shape = (fan_in, fan_out) if key.endswith("weight") else (fan_out,)
        if tuple(value.shape) != shape:
            raise ValueError(f"{key} has shape {tuple(value.shape)}, expected {shape}")
    return state


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
