"""Exports: a weights file loads back into a model with identical outputs; bad files are refused."""

import io
import json

import numpy as np
import pytest
import torch

import excolor
from excolor.export import (
    FORMAT,
    MAX_WEIGHTS_BYTES,
    latents_csv,
    metrics_csv,
    recipe_from_dict,
    recipe_to_dict,
    weights_bytes,
)
from excolor.schedule import parse_dopesheet
from excolor.train import Recipe, train

SHORT = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n60,0.05,0,0,0,0\n")


@pytest.fixture(scope="module")
def run():
    return train(Recipe("pre", seed=7, schedule=SHORT))[0]


def test_weights_round_trip_gives_identical_outputs(run):
    model, recipe = excolor.load(weights_bytes(run))
    x = torch.rand(500, 3, generator=torch.Generator().manual_seed(1))
    assert recipe == run.recipe
    assert torch.equal(model(x).output, run.model(x).output)
    assert torch.equal(model(x).bottleneck, run.model(x).bottleneck)


def test_load_accepts_a_file_object(run):
    model, _ = excolor.load(io.BytesIO(weights_bytes(run)))
    assert sum(p.numel() for p in model.parameters()) == 263  # one model (K = 1)
    loaded = model.weights(0)
    assert sorted(loaded) == sorted(run.weights)
    assert all(torch.equal(loaded[name], value) for name, value in run.weights.items())  # the run's own values


@pytest.mark.parametrize("payload", [b"", b"not a torch file", b"\x80\x04K\x01."])
def test_garbage_is_refused_with_a_clear_message(payload):
    with pytest.raises(ValueError, match="not an excolor weights file"):
        excolor.load(payload)


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_wrong_format_and_wrong_shapes_are_refused(run):
    with pytest.raises(ValueError, match="unknown format"):
        excolor.load(_saved({"format": "something-else"}))
    state = dict(run.weights)
    state["enc1.weight"] = torch.zeros(3, 15)
    bad = {"format": FORMAT, "state_dict": state, "recipe": "{}"}
    with pytest.raises(ValueError, match=r"enc1.weight has shape \(3, 15\), expected \(3, 16\)"):
        excolor.load(_saved(bad))


def test_recipe_dict_round_trip_and_errors():
    recipe = Recipe("post", 12, SHORT, 32)
    assert recipe_from_dict(recipe_to_dict(recipe)) == recipe
    with pytest.raises(ValueError, match="no 'seed'"):
        recipe_from_dict({"placement": "post", "schedule": "STEP,lr\n0,0.1\n", "batch_size": 64})
    with pytest.raises(ValueError, match="schedule is invalid"):
        recipe_from_dict({"placement": "post", "seed": 0, "schedule": "STEP,lr\n0,5\n", "batch_size": 64})
    with pytest.raises(ValueError, match="'middle'"):  # the message names the bad placement (or design)
        recipe_from_dict({"placement": "middle", "seed": 0, "schedule": "STEP,lr\n0,0.1\n", "batch_size": 64})


def test_latents_csv_has_one_row_per_color():
    latents = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.6, 0.8, 0.0]])
    true = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 1.0]])
    text = latents_csv(latents, true, true * 0.5)
    lines = text.strip().split("\n")
    assert lines[0] == "r,g,b,recon_r,recon_g,recon_b,z0,z1,z2,z3"
    assert lines[2] == "0,0.5,1,0,0.25,0.5,0,0.6,0.8,0"
    assert len(lines) == 3


def test_metrics_csv_quotes_commas_and_keeps_key_order():
    text = metrics_csv([{"run": "a,b", "max": 0.5}, {"run": "c", "max": 0.25, "extra": 1}])
    assert text.split("\n")[:3] == ["run,max,extra", '"a,b",0.5,', "c,0.25,1"]


# ------------------------------------------------------------------------------ every malformed file
# The documented contract: anything that is not an intact weights file raises ValueError with a one-line
# reason, never AttributeError / TypeError / RecursionError from deep inside.


def _file(run, state=None, recipe=None, **extra) -> bytes:
    good = torch.load(io.BytesIO(weights_bytes(run)), weights_only=True)
    state = {**good["state_dict"], **(state or {})}
    recipe = good["recipe"] if recipe is None else recipe
    return _saved({"format": FORMAT, "state_dict": state, "recipe": recipe, **extra})


def _recipe(**changes) -> str:
    return json.dumps({**recipe_to_dict(Recipe("pre", seed=7, schedule=SHORT)), **changes})


@pytest.mark.parametrize("cut", [1, 100, 0.5, -100, -1])
def test_truncated_files_are_refused(run, cut):
    data = weights_bytes(run)
    end = int(len(data) * cut) if isinstance(cut, float) else cut
    with pytest.raises(ValueError, match="^not an excolor weights file"):
        excolor.load(data[:end])


def test_random_bytes_and_other_pickles_are_refused():
    noise = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    for data in (noise, b"PK\x03\x04" + noise, _saved([1, 2, 3]), _saved("excolor")):
        with pytest.raises(ValueError, match="^not an excolor weights file"):
            excolor.load(data)


STATE_CASES = [
    ({"enc1.weight": 3}, "enc1.weight must be a tensor, not int"),
    ({"enc1.bias": [0.0] * 16}, "enc1.bias must be a tensor, not list"),
    ({"dec2.bias": "zeros"}, "dec2.bias must be a tensor, not str"),
    ({"enc1.bias": torch.zeros(16, dtype=torch.int64)}, "dense floating-point tensor, not torch.strided torch.int64"),
    ({"enc1.bias": torch.zeros(16, dtype=torch.bool)}, "dense floating-point tensor, not torch.strided torch.bool"),
    ({"enc1.bias": torch.zeros(16, dtype=torch.complex64)}, "floating-point tensor, not torch.strided torch.complex64"),
    ({"enc1.weight": torch.zeros(3, 16).to_sparse()}, "dense floating-point tensor, not torch.sparse_coo"),
    ({"enc1.bias": torch.tensor(1.0)}, r"enc1.bias has shape \(\), expected \(16,\)"),
    ({"enc1.weight": torch.zeros(16, 3)}, r"enc1.weight has shape \(16, 3\), expected \(3, 16\)"),
    ({"extra": torch.zeros(1)}, "does not hold the 3-16-4-16-3 autoencoder"),
]


@pytest.mark.parametrize(("state", "words"), STATE_CASES)
def test_wrong_types_shapes_and_keys_in_the_state_are_refused(run, state, words):
    with pytest.raises(ValueError, match=words):
        excolor.load(_file(run, state=state))


def test_missing_keys_are_refused(run):
    good = torch.load(io.BytesIO(weights_bytes(run)), weights_only=True)
    state = {k: v for k, v in good["state_dict"].items() if k != "dec2.bias"}
    for payload, words in [
        ({"format": FORMAT, "state_dict": state, "recipe": good["recipe"]}, "3-16-4-16-3"),
        ({"format": FORMAT, "recipe": good["recipe"]}, "3-16-4-16-3"),
        ({"state_dict": good["state_dict"], "recipe": good["recipe"]}, "unknown format"),
        ({"format": FORMAT, "state_dict": good["state_dict"]}, "the weights file has no recipe"),
    ]:
        with pytest.raises(ValueError, match=words):
            excolor.load(_saved(payload))


@pytest.mark.parametrize(
    ("recipe", "words"),
    [
        (5, "the recipe must be JSON text, not int"),
        (b"{}", "the recipe must be JSON text, not bytes"),
        ("{not json", "the recipe is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "the recipe is not valid JSON"),  # nested past the recursion limit
        ("[1]", "the recipe must be a JSON object"),
        ("{}", "the recipe has no 'schedule'"),
        (_recipe(seed="7"), "seed must be a whole number"),
        (_recipe(batch_size=None), "batch size must be a whole number"),
        (_recipe(schedule=5), "the recipe's schedule is invalid: line 1"),
    ],
)
def test_broken_recipes_are_refused(run, recipe, words):
    with pytest.raises(ValueError, match=words):
        excolor.load(_file(run, recipe=recipe))


def test_oversized_unreadable_and_wrong_kinds_of_source_are_refused(run, tmp_path):
    with pytest.raises(ValueError, match="larger than 1 MB"):
        excolor.load(_file(run, padding=torch.zeros(MAX_WEIGHTS_BYTES // 4)))
    with pytest.raises(ValueError, match="cannot read the weights file: No such file"):
        excolor.load(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="cannot read weights from int"):
        excolor.load(5)
    with pytest.raises(ValueError, match="binary mode"):
        excolor.load(io.StringIO("text"))
    path = tmp_path / "run.pt"
    path.write_bytes(weights_bytes(run))
    assert excolor.load(path)[1] == run.recipe and excolor.load(str(path))[1] == run.recipe


def test_a_diverged_runs_nan_weights_load_as_they_were(run):
    nan_bias = torch.full((16,), float("nan"))
    model, _ = excolor.load(_file(run, state={"enc1.bias": nan_bias}))
    assert model.weights(0)["enc1.bias"].isnan().all()
    assert model(torch.rand(5, 3)).output.isnan().all()
