"""Designs (SPEC section 10): text form and its canonical spelling, labels, presets, taps, the factorial screen."""

from __future__ import annotations

import pytest

from excolor.designs import (
    FACTORIAL,
    PRESET_TITLES,
    PRESETS,
    TERM_TAPS,
    Design,
    DesignError,
    parse_design,
)


def test_presets():
    assert PRESETS["pre"] == Design("pre", "pre", "pre", True) and PRESETS["post"] == Design("post", "post", "post")
    assert list(PRESETS) == ["pre", "post"]
    assert Design() == PRESETS["post"]
    assert PRESET_TITLES == {"pre": "pre-norm (Ex 2.3)", "post": "post-norm (Ex 2.4)"}
    for name, design in PRESETS.items():
        assert design.text == name and design.preset == name and design.label == PRESET_TITLES[name]
    assert TERM_TAPS == ("pre", "post", "off")


@pytest.mark.parametrize(
    ("text", "design", "canonical"),
    [
        ("post", Design(), "post"),
        ("pre", Design("pre", "pre", "pre"), "pre"),
        ("post,anchor=pre", Design(anchor="pre"), "post,anchor=pre"),
        ("post,planar=off,unit=off", Design(planar="off", unit=False), "post,planar=off,unit=off"),
        ("pre,separate=post", Design("pre", "post", "pre"), "pre,separate=post"),
        # overrides in any order, redundant ones, spaces and capitals: one canonical spelling
        ("post,unit=off,planar=off", Design(planar="off", unit=False), "post,planar=off,unit=off"),
        ("post,anchor=post,unit=on", Design(), "post"),
        (" Post , Anchor = PRE ", Design(anchor="pre"), "post,anchor=pre"),
        # the base is the preset that matches more taps: two of three pre -> pre
        ("post,anchor=pre,separate=pre", Design("pre", "pre", "post"), "pre,planar=post"),
        ("pre,anchor=post,separate=post,planar=post", Design(), "post"),
        # ties (one pre, one post, one off) go to post
        ("pre,separate=post,planar=off", Design("pre", "post", "off"), "post,anchor=pre,planar=off"),
        (
            "pre,anchor=off,separate=off,planar=off",
            Design("off", "off", "off"),
            "post,anchor=off,separate=off,planar=off",
        ),
        ("pre,anchor=off,separate=off", Design("off", "off", "pre"), "pre,anchor=off,separate=off"),
    ],
)
def test_text_round_trip(text, design, canonical):
    parsed = parse_design(text)
    assert parsed == design
    assert parsed.text == canonical == str(parsed)
    assert parse_design(canonical) == parsed and parse_design(parsed) is parsed
    assert hash(parse_design(canonical)) == hash(design)


def test_every_design_has_one_text():
    designs = [Design(a, s, p, u) for a in TERM_TAPS for s in TERM_TAPS for p in TERM_TAPS for u in (True, False)]
    texts = [d.text for d in designs]
    assert len(set(texts)) == len(designs) == 54
    assert all(parse_design(d.text) == d for d in designs)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty design"),
        ("   ", "empty design"),
        (None, "empty design"),
        ("middle", "does not start with a base"),
        ("anchor=pre", "does not start with a base"),
        (",post", "does not start with a base"),
        ("post,colour=pre", "unknown override 'colour=pre'"),
        ("post,anchor", "unknown override 'anchor'"),
        ("post,post", "unknown override 'post'"),
        ("post,", "unknown override ''"),
        ("post,anchor=middle", "anchor cannot be 'middle'.*one of pre, post, off"),
        ("post,anchor=on", "anchor cannot be 'on'"),
        ("post,unit=pre", "unit cannot be 'pre'.*one of on, off"),
        ("post,anchor=pre,anchor=post", "anchor is set twice"),
        ("post,unit=off,unit=off", "unit is set twice"),
    ],
)
def test_invalid_text_is_rejected_in_one_line(text, words):
    with pytest.raises(DesignError, match=words) as err:
        parse_design(text)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_invalid_design_fields():
    with pytest.raises(DesignError, match="anchor must be pre, post or off"):
        Design(anchor="encoder")
    with pytest.raises(DesignError, match="unit must be True or False"):
        Design(unit="off")
    with pytest.raises(DesignError, match="unknown term 'recon'"):
        Design().tap("recon")


def test_labels():
    assert Design(anchor="pre").label == "post-norm, but anchor on the raw latent"
    assert Design("post", "pre", "pre").label == "pre-norm, but anchor on the unit latent"
    assert Design(planar="off", unit=False).label == "post-norm, but planarity off and no unitarity"
    assert Design(unit=False).label == "post-norm, but no unitarity"
    assert Design("pre", "post", "off").label == "post-norm, but anchor on the raw latent and planarity off"
    assert Design("off", "off", "off").label == "post-norm, but anchor, separate and planarity off"
    assert Design(anchor="pre").preset is None and Design(unit=False).preset is None


def test_taps():
    d = parse_design("post,anchor=pre,planar=off")
    assert [d.tap(t) for t in ("anchor", "separate", "planar", "unit")] == ["encoder", "bottleneck", None, "encoder"]
    assert Design(unit=False).tap("unit") is None
    assert [PRESETS["pre"].tap(t) for t in ("anchor", "separate", "planar", "unit")] == ["encoder"] * 4


def test_factorial():
    assert len(FACTORIAL) == len(set(FACTORIAL)) == 8
    assert FACTORIAL[0] == PRESETS["pre"] and FACTORIAL[-1] == PRESETS["post"]
    assert all(d.unit and "off" not in (d.anchor, d.separate, d.planar) for d in FACTORIAL)
    # anchor varies slowest, planar fastest
    assert [d.anchor for d in FACTORIAL] == ["pre"] * 4 + ["post"] * 4
    assert [d.planar for d in FACTORIAL] == ["pre", "post"] * 4
    assert [d.text for d in FACTORIAL[:3]] == ["pre", "pre,planar=post", "pre,separate=post"]
