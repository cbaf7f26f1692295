"""Date edges of the ramp factor (``[coaching]`` ramp_days = 84, ramp_start = 0.75), by hand.

Window ``[1 Jun, 8 Jun)``: whole days 1..7 June. ``ramp(t) = 0.75 + 0.25 * min(1, t / 84)``;
the factor is the mean over the window's days on or after the hire date.
"""

from __future__ import annotations

import pandas as pd
import pytest

from salesx2lib.coaching import ramp_factors
from salesx2lib.settings import load_settings

T = pd.Timestamp
S = load_settings()
START, END = T("2024-06-01"), T("2024-06-08")


@pytest.mark.parametrize(
    ("hire", "factor"),
    [
        ("2024-06-08", 1.0),  # hired on the (excluded) end day: after the window, full benchmark
        ("2024-06-07", 0.75),  # hired on the window's last day: one day at tenure 0
        ("2024-06-06", 0.75 + 0.25 * (0 + 1) / 2 / 84),  # two days, tenure 0 and 1
        ("2024-03-09", 1.0),  # 84 days before 1 June: fully ramped from the first day
        ("2024-03-10", (6 * 1.0 + (0.75 + 0.25 * 83 / 84)) / 7),  # 83 days on 1 June, 84 from 2 June
    ],
)
def test_ramp_factor_edges(hire, factor):
    reps = pd.DataFrame({"rep_id": ["r"], "hire_date": [T(hire)]}).astype({"rep_id": "str", "hire_date": "datetime64[us]"})
    out = ramp_factors(reps, START, END, S)
    assert out["ramp_factor"].iloc[0] == pytest.approx(factor)
    assert out["tenure_days"].iloc[0] == (T("2024-06-07") - T(hire)).days
