"""Designs: which tap each regularizer reads (or whether it is off), the experiment lab's independent variable.

The notebook compares two designs: every placement-dependent term before the normalization (pre-norm, Ex 2.3)
or after it (post-norm, Ex 2.4). A design generalizes that to one choice per term (SPEC section 10), so a learner
can ask which term is responsible. Text form, used by the CLI and the URL: a base (`pre` or `post`) followed by
overrides, e.g. `post,anchor=pre` or `post,planar=off,unit=off`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

TERM_TAPS = ("pre", "post", "off")  # for anchor, separate, planar
UNIT_VALUES = ("on", "off")
PLACED_TERMS = ("anchor", "separate", "planar")  # override order in the canonical text, then unit
TAP_OF = {"pre": "encoder", "post": "bottleneck", "off": None}
PRESET_TITLES = {"pre": "pre-norm (Ex 2.3)", "post": "post-norm (Ex 2.4)"}  # with the notebook exercise: headings
PRESET_NAMES = {name: title.split(" (")[0] for name, title in PRESET_TITLES.items()}  # 'pre-norm': inside sentences
TERM_WORDS = {"anchor": "anchor", "separate": "separate", "planar": "planarity"}
TAP_WORDS = {"pre": "on the raw latent", "post": "on the unit latent", "off": "off"}
ALLOWED = (
    "a design is 'pre' or 'post', then optional overrides anchor=, separate=, planar= (pre, post or off) "
    "and unit= (on or off), e.g. 'post,anchor=pre'"
)


class DesignError(ValueError):
    """A design that cannot be used; the one-line message says what is allowed."""


@dataclass(frozen=True)
class Design:
    """For each of anchor, separate and planar the tap it reads (pre, post or off); whether unitarity is on."""

    anchor: str = "post"
    separate: str = "post"
    planar: str = "post"
    unit: bool = True

    def __post_init__(self) -> None:
        for term in PLACED_TERMS:
            if getattr(self, term) not in TERM_TAPS:
                raise DesignError(f"{term} must be pre, post or off, not {getattr(self, term)!r}")
        if not isinstance(self.unit, bool):
            raise DesignError(f"unit must be True or False, not {self.unit!r}")

    @property
    def base(self) -> str:
        """The preset that matches more of the three taps; ties go to post (the notebook's default)."""
        taps = [getattr(self, t) for t in PLACED_TERMS]
        return "pre" if taps.count("pre") > taps.count("post") else "post"

    @property
    def text(self) -> str:
        """Canonical text: the base, then only the overrides that differ from it (same design, same text)."""
        base = self.base
        parts = [base] + [f"{t}={getattr(self, t)}" for t in PLACED_TERMS if getattr(self, t) != base]
        return ",".join(parts + ([] if self.unit else ["unit=off"]))

    @property
    def preset(self) -> str | None:
        """'pre' or 'post' when this is one of the two published designs, else None."""
        return next((name for name, design in PRESETS.items() if design == self), None)

    @property
    def label(self) -> str:
        """Plain language: 'post-norm (Ex 2.4)', or the base and what differs, 'post-norm, but anchor on the raw
        latent'."""
        if self.preset:
            return PRESET_TITLES[self.preset]
        base = self.base
        changes = []
        for tap in ("pre", "post", "off"):
            terms = [TERM_WORDS[t] for t in PLACED_TERMS if getattr(self, t) == tap != base]
            if terms:
                changes.append(f"{_and(terms)} {TAP_WORDS[tap]}")
        if not self.unit:
            changes.append("no unitarity")
        return f"{base}-norm, but {_and(changes)}"

    def tap(self, term: str) -> str | None:
        """Which tap a term reads: 'encoder', 'bottleneck' or None (off). Unitarity always reads the encoder."""
        if term == "unit":
            return "encoder" if self.unit else None
        if term not in PLACED_TERMS:
            raise DesignError(f"unknown term {term!r}; the terms are anchor, separate, planar and unit")
        return TAP_OF[getattr(self, term)]

    def __str__(self) -> str:
        return self.text


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def parse_design(text: str | Design) -> Design:
    """A Design from its text form (any order of overrides, redundant ones allowed); a Design passes through."""
    if isinstance(text, Design):
        return text
    if not isinstance(text, str) or not text.strip():
        raise DesignError(f"empty design: {ALLOWED}")
    base, *overrides = [part.strip().lower() for part in text.split(",")]
    if base not in PRESETS:
        raise DesignError(f"{text!r} does not start with a base: {ALLOWED}")
    values = {t: getattr(PRESETS[base], t) for t in PLACED_TERMS}
    seen = set()
    for item in overrides:
        term, eq, value = (s.strip() for s in item.partition("="))
        if not eq or term not in (*PLACED_TERMS, "unit"):
            raise DesignError(f"unknown override {item!r} in {text!r}: {ALLOWED}")
        if term in seen:
            raise DesignError(f"{term} is set twice in {text!r}: {ALLOWED}")
        seen.add(term)
        allowed = UNIT_VALUES if term == "unit" else TERM_TAPS
        if value not in allowed:
            raise DesignError(f"{term} cannot be {value!r} in {text!r}: {term} is one of {', '.join(allowed)}")
        values[term] = value == "on" if term == "unit" else value
    return Design(**values)


PRESETS = {"pre": Design("pre", "pre", "pre"), "post": Design()}

# The 2^3 factorial screen (SPEC section 10): anchor, separate, planar each pre or post, unitarity on. Order: as
# itertools.product over (anchor, separate, planar), pre before post, so anchor varies slowest and planar fastest;
# the first is pre-norm and the last post-norm.
FACTORIAL = tuple(Design(a, s, p) for a, s, p in itertools.product(("pre", "post"), repeat=3))
