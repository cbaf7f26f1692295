"""Tests of salesx2lib.survival written to kill the mutants `make mutate` found surviving.

Expected values are worked out by hand in the comments or taken from statsmodels'
``SurvfuncRight``; the survivors left (equivalent mutants) are listed in docs/mutation.md.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from salesx2lib.survival import kaplan_meier, km_quantile, km_quantile_ci, km_survival_at

# -- input checks: exact messages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("durations", "observed"),
    [([1.0, 2.0], [True]), ([[1.0, 2.0]], [[True, False]]), ([1.0], [True, False])],
)
def test_shapes_must_match_and_be_one_dimensional(durations, observed):
    with pytest.raises(ValueError, match=r"^durations and observed must be 1-d and of the same length$"):
        kaplan_meier(durations, observed)


@pytest.mark.parametrize(
    ("durations", "message"),
    [([1.0, float("nan")], r"^durations must not be missing$"), ([1.0, -1.0], r"^durations must not be negative$")],
)
def test_bad_durations_messages(durations, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, [True, True])


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_confidence_bounds_are_exclusive(confidence):
    with pytest.raises(ValueError, match=rf"^confidence must be between 0 and 1, not {confidence}$"):
        kaplan_meier([1.0, 2.0], [True, True], confidence=confidence)


def test_entry_messages():
    with pytest.raises(ValueError, match=r"^entry must have the same length as durations$"):
        kaplan_meier([3.0, 5.0], [True, True], entry=[0.0])
    with pytest.raises(ValueError, match=r"^entry must be given, >= 0 and <= durations$"):
        kaplan_meier([3.0, 5.0], [True, True], entry=[0.0, 6.0])


@pytest.mark.parametrize("q", [0.0, 1.0, 1.5])
def test_quantile_share_bounds_are_exclusive(q):
    km = kaplan_meier([1.0, 2.0, 3.0], [True, True, True])
    with pytest.raises(ValueError, match=rf"^q must be between 0 and 1, not {q}$"):
        km_quantile(km, q)
    with pytest.raises(ValueError, match=rf"^q must be between 0 and 1, not {q}$"):
        km_quantile_ci(km, q)


# -- the table: column types, the flat start, the end at S = 0 ----------------------------------


def test_integer_input_gives_the_documented_column_types():
    km = kaplan_meier([2, 3, 3, 5], [1, 1, 0, 1])
    assert str(km["time"].dtype) == "float64"
    for col in ("n_at_risk", "n_events", "n_censored"):
        assert str(km[col].dtype) == "int64", col
    for col in ("survival", "se", "ci_low", "ci_high"):
        assert str(km[col].dtype) == "float64", col


def test_before_the_first_event_the_curve_is_one_with_no_uncertainty():
    # 1 (censored) 2 (event) 4 (event) 6 (censored): at t = 1 no event yet, S = 1 exactly.
    km = kaplan_meier([1, 2, 4, 6], [False, True, True, False])
    first = km.iloc[0]
    assert (first["survival"], first["se"], first["ci_low"], first["ci_high"]) == (1.0, 0.0, 1.0, 1.0)
    # t = 2: n = 3, d = 1: S = 2/3, Greenwood 1/(3*2)
    assert km["se"].iloc[1] == pytest.approx(2 / 3 * math.sqrt(1 / 6))


def test_once_the_curve_reaches_zero_its_interval_is_nan_without_warnings():
    # 1 (e) 2 (e) 3 (e): S = 2/3, 1/3, 0; at t = 3 n = d = 1: Greenwood undefined.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = kaplan_meier([1, 2, 3, 4], [True, True, True, False], entry=[0, 0, 0, 0])
        km_quantile_ci(km, 0.5)
    assert km["survival"].tolist()[:3] == pytest.approx([3 / 4, 2 / 4, 1 / 4])
    km = kaplan_meier([1, 2, 3], [True, True, True])
    last = km.iloc[-1]
    assert last["survival"] == 0.0
    assert math.isnan(last["se"]) and math.isnan(last["ci_low"]) and math.isnan(last["ci_high"])
    assert str(km["ci_low"].dtype) == "float64" and str(km["ci_high"].dtype) == "float64"


def test_no_runtime_warning_when_the_curve_reaches_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = kaplan_meier([1, 2, 3], [True, True, True])
        low, high = km_quantile_ci(km, 0.5)
    assert low == 1.0


# -- quantile interval at its edges --------------------------------------------------------------


def _sm_ci(t, e, q):
    low, high = SurvfuncRight(np.asarray(t, float), np.asarray(e, float)).quantile_ci(q, method="cloglog")
    return low, (math.nan if math.isinf(high) else high)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels takes log(0) at S = 0
@pytest.mark.parametrize("seed", range(12))
def test_quantile_ci_matches_statsmodels_with_censoring_between_events(seed):
    rng = np.random.default_rng(seed)
    t = np.round(rng.exponential(10, 25)) + 1.0
    e = rng.random(25) < 0.55
    km = kaplan_meier(t, e)
    for q in (0.25, 0.5):
        got = km_quantile_ci(km, q)
        ref = _sm_ci(t, e, q)
        for a, b in zip(got, ref, strict=True):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


def test_quantile_ci_upper_limit_is_the_next_event_time_or_nan():
    # One event at each of t = 1..20, five subjects censored at 30 (S ends at 5/25 = 0.2).
    # For q = 0.6 the last qualifying event is t = 19, so the upper limit is the next event
    # time, 20, the last one in the table; for q = 0.65 the set reaches t = 20 itself and
    # the upper limit is not reached (NaN). Both as statsmodels says (its inf is our NaN).
    t = np.r_[np.arange(1.0, 21.0), [30.0] * 5]
    e = np.r_[np.ones(20, bool), np.zeros(5, bool)]
    km = kaplan_meier(t, e)
    for q in (0.5, 0.6, 0.65, 0.7):
        got = km_quantile_ci(km, q)
        ref = _sm_ci(t, e, q)
        for a, b in zip(got, ref, strict=True):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)
    assert km_quantile_ci(km, 0.6) == (10.0, 20.0)
    low, high = km_quantile_ci(km, 0.65)
    assert low == 11.0 and math.isnan(high)


def test_survival_at_on_an_empty_table_is_one():
    km = kaplan_meier([], [])
    np.testing.assert_array_equal(km_survival_at(km, [0.0, 5.0]), [1.0, 1.0])
