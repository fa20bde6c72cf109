"""Bootstrap intervals (clustered, seeded), paired differences and the exact McNemar test, by hand."""

from __future__ import annotations

import math

import pytest

from rmr1_utils.stats import bootstrap_mean, mcnemar_exact, paired_difference


def test_constant_data_has_a_point_interval():
    i = bootstrap_mean([1, 1, 1, 1], resamples=200)
    assert (i.value, i.low, i.high, i.n, i.clusters) == (1.0, 1.0, 1.0, 4, 4)


def test_seeded_and_contains_the_estimate():
    values = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 4
    a, b = bootstrap_mean(values, seed=7), bootstrap_mean(values, seed=7)
    assert a == b and a.low <= a.value <= a.high
    assert a.value == pytest.approx(0.7)
    assert bootstrap_mean(values, seed=8) != a  # another seed, another (close) interval
    # the normal approximation for 40 independent Bernoulli(0.7): ±1.96*sqrt(.21/40) = ±0.142
    assert a.high - a.low == pytest.approx(2 * 1.96 * math.sqrt(0.21 / 40), abs=0.05)


def test_clusters_widen_the_interval_of_correlated_judgements():
    # 20 pairs judged in both orders; a position-biased judge gets exactly one order of each right.
    biased = [1, 0] * 20
    pairs = [k // 2 for k in range(40)]
    clustered = bootstrap_mean(biased, pairs)
    assert (clustered.value, clustered.low, clustered.high, clustered.clusters) == (0.5, 0.5, 0.5, 20)
    assert bootstrap_mean(biased).high - bootstrap_mean(biased).low > 0.2  # treated as independent: wide
    # a judge right on both orders of 10 pairs and wrong on both of the other 10: pairs are the units
    split = [1, 1] * 10 + [0, 0] * 10
    wide = bootstrap_mean(split, pairs)
    assert wide.high - wide.low > bootstrap_mean(split).high - bootstrap_mean(split).low


def test_empty_is_nan():
    i = bootstrap_mean([])
    assert math.isnan(i.value) and i.n == 0


def test_paired_difference_uses_shared_keys_and_clusters():
    first = {"p1": 0, "p1-swapped": 0, "p2": 1, "p2-swapped": 1, "only-first": 1}
    second = {"p1": 1, "p1-swapped": 1, "p2": 1, "p2-swapped": 1, "only-second": 0}
    clusters = {k: k.removesuffix("-swapped") for k in (*first, *second)}
    d = paired_difference(first, second, clusters, resamples=500)
    assert d.value == pytest.approx(0.5) and d.n == 4 and d.clusters == 2
    assert d.low == 0.0 and d.high == 1.0  # resampling 2 pairs: {0, 0.5, 1} are the possible means
    same = paired_difference(first, first)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)


def test_mcnemar_exact_by_hand():
    # b = 1 (only first right), c = 5 (only second right): p = 2 * P(X <= 1), X ~ Bin(6, 1/2) = 2 * 7/64
    first = {"a": True, "b": False, "c": False, "d": False, "e": False, "f": False, "g": True}
    second = {"a": False, "b": True, "c": True, "d": True, "e": True, "f": True, "g": True}
    assert mcnemar_exact(first, second) == pytest.approx(14 / 64)
    assert mcnemar_exact(first, first) == 1.0
    assert mcnemar_exact({"x": True}, {"x": False}) == 1.0  # one discordant key: 2 * 1/2
