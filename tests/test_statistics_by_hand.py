"""The evidence statistics against expectations worked out without the code under test (issue 28).

bootstrap_ci is replayed by a plain-Python percentile bootstrap that draws the same seeded indices (the contract:
numpy's default_rng(seed).integers(0, n_values, size=(resamples, n_values))) but computes every median and the
interpolated quantiles by hand, so a changed level, resample count, seed or quantile rule disagrees with it. The
sign test is checked by enumerating every sign sequence, not by the binomial formula the code uses. And a call
is made at exactly MIN_SEEDS_TO_CALL pairs, and refused one below."""

import itertools
import math
import statistics

import numpy as np
import pytest

from excolor import evidence as ev
from excolor import verdicts

# Eight differences (one per seed) whose bootstrap medians spread enough that the 90% and 95% intervals differ.
EIGHT = [-0.9, -0.7, -0.6, -0.35, -0.3, -0.1, 0.05, 0.4]
# Eight with no common grid: distinct draws give distinct means, so neighbouring sorted means differ.
RAGGED = [-0.913, -0.7071, -0.5772, -0.3466, -0.2718, -0.1414, 0.0577, 0.3989]


def quantile_by_hand(values: list[float], q: float) -> float:
    """The q-quantile with linear interpolation between closest ranks (position q x (n - 1) in sorted order)."""
    s = sorted(values)
    h = q * (len(s) - 1)
    below = math.floor(h)
    above = min(below + 1, len(s) - 1)
    return s[below] + (h - below) * (s[above] - s[below])


def bootstrap_by_hand(
    values: list[float], resamples: int, seed: int, level: float, stat=statistics.median
) -> tuple[float, float]:
    """The middle `level` of the statistics of `resamples` re-drawings with replacement, clipped to the data's
    range."""
    draws = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values))).tolist()
    medians = [stat([values[i] for i in row]) for row in draws]
    tail = (1 - level) / 2
    lo, hi = quantile_by_hand(medians, tail), quantile_by_hand(medians, 1 - tail)
    return min(max(lo, min(values)), max(values)), min(max(hi, min(values)), max(values))


def test_the_shipped_interval_is_a_95_percent_bootstrap_of_10000_resamples_seeded_0():
    expected = bootstrap_by_hand(EIGHT, 10_000, 0, 0.95)
    assert ev.bootstrap_ci(EIGHT) == pytest.approx(expected, abs=1e-12)
    # the check can tell the levels apart: a 90% interval is a different, narrower one
    narrower = bootstrap_by_hand(EIGHT, 10_000, 0, 0.90)
    assert narrower[1] - narrower[0] < expected[1] - expected[0] - 0.05


def test_the_interval_of_the_mean_matches_the_hand_replay_resample_for_resample():
    """The mean of 8 draws takes thousands of values (medians only a few dozen), so the quantile rule and the
    number of resamples both show in the interval's last digits."""
    expected = bootstrap_by_hand(RAGGED, 10_000, 0, 0.95, stat=statistics.fmean)
    assert ev.bootstrap_ci(RAGGED, stat=np.mean) == pytest.approx(expected, abs=1e-12)
    assert bootstrap_by_hand(RAGGED, 5_000, 0, 0.95, stat=statistics.fmean) != pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("values", [[1.0, 2.0, 4.0], [-3.0, 0.5, 0.7, 2.0, 9.0], [5.0, -1.0]])
@pytest.mark.parametrize("seed", [0, 7])
def test_bootstrap_ci_matches_the_hand_replay_on_tiny_samples(values, seed):
    for level in (0.5, 0.8, 0.95):
        got = ev.bootstrap_ci(values, n=400, seed=seed, level=level)
        assert got == pytest.approx(bootstrap_by_hand(values, 400, seed, level), abs=1e-12), level


def test_the_three_value_bootstrap_has_the_exact_distribution_it_should():
    """Medians of 3 draws from {1, 2, 4}: 1 or 4 each with chance 7/27 (two or three of the 27 equally likely
    draws), 2 with 13/27; so the 95% interval of many resamples is the full range [1, 4] and a 40% interval,
    whose tails (30% each) reach past 7/27 = 26%, is exactly [2, 2]."""
    assert ev.bootstrap_ci([1.0, 2.0, 4.0]) == (1.0, 4.0)
    assert ev.bootstrap_ci([1.0, 2.0, 4.0], level=0.4) == (2.0, 2.0)


def sign_p_by_enumeration(wins: int, losses: int) -> float:
    """The share of all 2^n equally likely sign sequences whose split is at least as lopsided as this one."""
    n = wins + losses
    if n == 0:
        return 1.0
    extreme = max(wins, losses)
    hits = sum(1 for signs in itertools.product((0, 1), repeat=n) if max(sum(signs), n - sum(signs)) >= extreme)
    return hits / 2**n


@pytest.mark.parametrize("wins,losses", [(w, n - w) for n in range(0, 11) for w in range(n + 1)])
def test_sign_test_p_is_the_share_of_sign_sequences_at_least_as_lopsided(wins, losses):
    assert ev.sign_test_p(wins, losses) == pytest.approx(sign_p_by_enumeration(wins, losses), rel=1e-12)


def test_sign_test_p_hand_values():
    assert ev.sign_test_p(5, 0) == 2 / 32  # the smallest p five seeds can reach: not below 0.05
    assert ev.sign_test_p(6, 0) == 2 / 64  # six of six can
    assert ev.sign_test_p(7, 1) == 2 * (1 + 8) / 256
    assert ev.sign_test_p(2, 10) == 2 * (1 + 12 + 66) / 4096


# ------------------------------------------------------------------------- the call at the seed threshold

SHIFT = [-0.5, -0.4, -0.3, -0.2, -0.1, -0.6, -0.7]  # every pair favours B: a clear shift below zero


def test_a_call_is_made_at_exactly_the_minimum_number_of_pairs():
    n = ev.MIN_SEEDS_TO_CALL
    assert n == 5  # the shipped threshold the pages explain
    m = ev.paired_stats(np.arange(n), np.array(SHIFT[:n]), "lower")
    assert m["direction"] == "b lower" and m["clear"] is True
    assert m["favours"] == "b" and m["strength"] == "weak"  # 5 of 5: p = 0.0625, not below 0.05
    assert "fewer than" not in verdicts.interval_meaning(m)
    assert "entirely below zero" in verdicts.interval_meaning(m)


def test_no_call_one_pair_below_the_minimum():
    n = ev.MIN_SEEDS_TO_CALL - 1
    m = ev.paired_stats(np.arange(n), np.array(SHIFT[:n]), "lower")
    assert m["direction"] == "b lower"  # the interval alone would say so...
    assert m["clear"] is False and m["favours"] is None and m["strength"] == "none"  # ...but too few seeds
    assert f"fewer than {ev.MIN_SEEDS_TO_CALL} seeds" in verdicts.interval_meaning(m)
