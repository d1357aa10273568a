"""Exports: a weights file loads back into a model with identical outputs; bad files are refused."""

import io

import numpy as np
import pytest
import torch

import excolor
from excolor.export import FORMAT, latents_csv, metrics_csv, recipe_from_dict, recipe_to_dict, weights_bytes
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
    assert model.n_parameters() == 263


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
    with pytest.raises(ValueError, match="placement"):
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
    assert text.split("\n")[:3] == ['run,max,extra', '"a,b",0.5,', "c,0.25,1"]
