"""Tests of salesx2lib.cadence written to kill the mutants `make mutate` found surviving.

Every test calls the library itself (no shared module-scoped fixture: mutmut links a
mutant only to the tests that call the mutated function, and a fixture cached by an
earlier test is not a call). Expected values are worked out by hand in the comments; the
Wilson bounds come from statsmodels. The survivors left (equivalent mutants) are listed
in docs/mutation.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import cadence
from salesx2lib.dataset import Dataset
from salesx2lib.settings import load_settings

from worlds.cadence import submissions_dataset

SETTINGS = load_settings()
US = "datetime64[us]"
# As of Monday 16 November 2026 00:00 (given: the data's own default would be Monday 23rd).
# The latest complete week is 9 November; with 2 weeks: 2 Nov and 9 Nov, span [2 Nov, 16 Nov).
AS_OF = pd.Timestamp("2026-11-16")


def _dataset() -> Dataset:
    # Reps without hire_date (every week expected) and without rep_name, listed out of order.
    reps = pd.DataFrame(
        {
            "rep_id": pd.Series(["R3", "R2", "R1"], dtype="str"),
            "team": pd.Series(["South", "North", "North"], dtype="str"),
            "manager": pd.Series(["M", "M", "M"], dtype="str"),
        }
    )
    subs = [
        ("R1", "2026-11-02 00:00"),  # exactly the first Monday 00:00: inside the span, week 1
        ("R1", "2026-11-15 23:59"),  # week 2
        ("R2", "2026-11-09 12:00"),  # week 2
        ("R2", "2026-11-16 00:00"),  # at the as-of: known (latest), but in the running week
        ("R3", "2026-11-03 09:00"),  # week 1
        ("R3", "2026-11-16 00:00:01"),  # after the as-of: not used at all
    ]
    return submissions_dataset(reps, subs, "2026-11-22 19:00")


def test_whole_table_by_hand_without_hire_date_or_rep_name() -> None:
    out = cadence.forecast_cadence(_dataset(), AS_OF, SETTINGS, weeks=2)
    assert list(out.columns) == list(cadence.CADENCE_COLUMNS)
    assert out.index.tolist() == [0, 1, 2]
    # Sorted by team, then rep: North R1, North R2, South R3.
    assert out["team"].tolist() == ["North", "North", "South"]
    assert out["rep_id"].tolist() == ["R1", "R2", "R3"]
    assert (out["as_of_date"] == AS_OF).all()
    assert (out["this_week"] == pd.Timestamp("2026-11-09")).all()
    assert (out["first_week"] == pd.Timestamp("2026-11-02")).all()
    # No hire_date: both weeks expected for everyone.
    # R1: weeks 1 (on the edge) and 2 -> 2 of 2; R2: week 2 only -> 1 of 2; R3: week 1 only -> 1 of 2.
    assert out["n_weeks"].tolist() == [2, 2, 2]
    assert out["weeks_submitted"].tolist() == [2, 1, 1]
    assert out["submission_rate"].tolist() == [1.0, 0.5, 0.5]
    for i, (k, n) in enumerate([(2, 2), (1, 2), (1, 2)]):
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert out["ci_low"].iloc[i] == pytest.approx(lo, abs=1e-12)
        assert out["ci_high"].iloc[i] == pytest.approx(hi, abs=1e-12)
    assert out["submitted_this_week"].tolist() == [True, True, False]
    assert out["last_submitted_at"].tolist() == [
        pd.Timestamp("2026-11-15 23:59"), pd.Timestamp("2026-11-16 00:00"), pd.Timestamp("2026-11-03 09:00")]
    assert out["missed_weeks"].tolist() == ["", "2026-11-02", "2026-11-09"]
    # No rep_name column: an empty (missing) text column, not an error.
    assert out["rep_name"].isna().all()
    dtypes = out.dtypes.astype(str).to_dict()
    assert dtypes == {
        "as_of_date": US, "this_week": US, "first_week": US, "team": "str", "rep_id": "str", "rep_name": "str",
        "n_weeks": "int64", "weeks_submitted": "int64", "submission_rate": "float64", "ci_low": "float64",
        "ci_high": "float64", "submitted_this_week": "boolean", "last_submitted_at": US, "missed_weeks": "str",
    }


def test_one_week_rates_are_k_over_one() -> None:
    # weeks=1: only the week of 9 Nov. R1 (15 Nov) and R2 (9 Nov) submitted, R3 did not.
    # rate = k / 1; Wilson for 1 of 1 and 0 of 1.
    out = cadence.forecast_cadence(_dataset(), AS_OF, SETTINGS, weeks=1)
    assert out["n_weeks"].tolist() == [1, 1, 1]
    assert out["weeks_submitted"].tolist() == [1, 1, 0]
    assert out["submission_rate"].tolist() == [1.0, 1.0, 0.0]
    lo1, hi1 = proportion_confint(1, 1, alpha=0.05, method="wilson")
    lo0, hi0 = proportion_confint(0, 1, alpha=0.05, method="wilson")
    np.testing.assert_allclose(out["ci_low"], [lo1, lo1, lo0], atol=1e-12)
    np.testing.assert_allclose(out["ci_high"], [hi1, hi1, hi0], atol=1e-12)
    assert out["missed_weeks"].tolist() == ["", "", "2026-11-09"]


def test_rep_names_are_carried_when_present() -> None:
    ds = _dataset()
    reps = ds.reps.assign(rep_name=pd.Series(["Cy", "Bo", "Al"], dtype="str"))
    ds = Dataset(tables={**ds.tables, "reps": reps}, activities=None, as_of=ds.as_of)
    out = cadence.forecast_cadence(ds, AS_OF, SETTINGS, weeks=2)
    assert out["rep_name"].tolist() == ["Al", "Bo", "Cy"]  # follows R1, R2, R3 after the sort


def test_not_submitted_from_this_table() -> None:
    out = cadence.not_submitted(cadence.forecast_cadence(_dataset(), AS_OF, SETTINGS, weeks=2))
    assert out["rep_id"].tolist() == ["R3"]
    assert out.iloc[0]["missed_weeks"] == "2026-11-09" and out.iloc[0]["last_submitted_at"] == pd.Timestamp("2026-11-03 09:00")
