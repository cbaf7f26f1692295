"""A known-truth world for the forecast cadence: reps who submit each week with a declared probability.

:func:`cadence_world` builds a floor whose reps each submit in a given week with their own
probability ``p`` (declared), at any moment of the week, the edges included (Monday 00:00
exactly and the last microsecond of Sunday), sometimes several rows a week (one per
forecast period), with some reps hired during the span. Noise the table must ignore:
submissions in the weeks before the span and after the as-of instant. The truth returned
is which weeks each rep submitted in and which weeks each was expected to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset

_US = "datetime64[us]"
WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class CadenceWorld:
    """The dataset and its declared truth.

    ``p``: each rep's weekly submission probability (index ``rep_id``); ``mondays``: the
    span's weeks, oldest first (the last is the latest complete week as of ``as_of``);
    ``submitted`` and ``expected``: boolean (rep x week) frames of the truth.
    """

    dataset: Dataset
    as_of: pd.Timestamp
    mondays: pd.DatetimeIndex
    p: pd.Series
    submitted: pd.DataFrame
    expected: pd.DataFrame


def cadence_world(n_reps: int = 40, n_weeks: int = 13, seed: int = 0, last_monday: str = "2026-11-16") -> CadenceWorld:
    """A floor of ``n_reps`` reps over ``n_weeks`` weeks ending with the week of ``last_monday``.

    The as-of instant is the Monday 00:00 after that week. Rep ``i`` submits in a week with
    probability ``p_i ~ Uniform(0.2, 1.0)``; a fifth of the reps are hired on a random day of
    the span (their weeks before the first Monday on or after hiring are not expected).
    """
    rng = np.random.default_rng(seed)
    mondays = pd.date_range(end=pd.Timestamp(last_monday), periods=n_weeks, freq="7D", unit="us")
    as_of = mondays[-1] + WEEK
    rep_ids = np.array([f"R{i:04d}" for i in range(n_reps)])
    p = rng.uniform(0.2, 1.0, n_reps)
    hire = pd.Series(pd.Timestamp("2020-01-06"), index=range(n_reps)).astype(_US)
    late = rng.random(n_reps) < 0.2
    offsets = pd.to_timedelta(rng.integers(0, n_weeks * 7 * 24, n_reps), unit="h")
    hire = hire.where(~late, pd.Series(mondays[0] + offsets).dt.normalize().astype(_US))
    expected = hire.to_numpy()[:, None] <= mondays.to_numpy()[None, :]
    submitted = rng.random((n_reps, n_weeks)) < p[:, None]

    rows_rep, rows_t = [], []
    week_us = int(WEEK / pd.Timedelta(microseconds=1))
    for i in range(n_reps):
        for w in range(n_weeks):
            if not submitted[i, w]:
                continue
            edge = rng.random()
            if edge < 0.1:
                offs = [0]  # Monday 00:00 exactly
            elif edge < 0.2:
                offs = [week_us - 1]  # Sunday 23:59:59.999999
            else:
                offs = list(rng.integers(0, week_us, rng.integers(1, 4)))  # 1-3 rows
            for o in offs:
                rows_rep.append(rep_ids[i])
                rows_t.append(mondays[w] + pd.Timedelta(microseconds=int(o)))
        # Noise: a submission before the span (one microsecond before its first Monday)
        # and one after the as-of instant; neither may count.
        rows_rep += [rep_ids[i], rep_ids[i]]
        rows_t += [mondays[0] - pd.Timedelta(microseconds=1), as_of + pd.Timedelta(hours=rng.integers(1, 100))]
    fc = pd.DataFrame(
        {
            "rep_id": pd.Series(rows_rep, dtype="str"),
            "submitted_at": pd.Series(rows_t, dtype=_US),
            "period_start": pd.Series(pd.Timestamp("2026-12-01"), index=range(len(rows_t)), dtype=_US),
            "period_end": pd.Series(pd.Timestamp("2026-12-31"), index=range(len(rows_t)), dtype=_US),
            "amount": 1000.0,
            "category": pd.Series("commit", index=range(len(rows_t)), dtype="str"),
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": pd.Series(rep_ids, dtype="str"),
            "rep_name": pd.Series([f"Rep {i}" for i in range(n_reps)], dtype="str"),
            "team": pd.Series(np.where(np.arange(n_reps) % 2 == 0, "North", "South"), dtype="str"),
            "manager": pd.Series("M", index=range(n_reps), dtype="str"),
            "hire_date": hire,
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": pd.Series([], dtype="str"),
            "rep_id": pd.Series([], dtype="str"),
            "created_at": pd.Series([], dtype=_US),
            "amount": pd.Series([], dtype="float64"),
            "stage": pd.Series([], dtype="str"),
            "status": pd.Series([], dtype="str"),
            "expected_close_date": pd.Series([], dtype=_US),
            "closed_at": pd.Series([], dtype=_US),
        }
    )
    ds = Dataset(tables={"reps": reps, "opportunities": opps, "forecasts": fc}, activities=None, as_of=fc["submitted_at"].max())
    cols = [f"{m:%Y-%m-%d}" for m in mondays]
    return CadenceWorld(
        dataset=ds,
        as_of=as_of,
        mondays=mondays,
        p=pd.Series(p, index=rep_ids, name="p"),
        submitted=pd.DataFrame(submitted, index=rep_ids, columns=cols),
        expected=pd.DataFrame(expected, index=rep_ids, columns=cols),
    )


def submissions_dataset(reps: pd.DataFrame, subs: list[tuple[str, str]], as_of: str) -> Dataset:
    """Reps, no deals, and one commit of 100 for December per ``(rep, submitted_at)``."""
    n = range(len(subs))
    fc = pd.DataFrame(
        {
            "rep_id": pd.Series([r for r, _ in subs], dtype="str"),
            "submitted_at": pd.Series([pd.Timestamp(t) for _, t in subs], dtype=_US),
            "period_start": pd.Series(pd.Timestamp("2026-12-01"), index=n, dtype=_US),
            "period_end": pd.Series(pd.Timestamp("2026-12-31"), index=n, dtype=_US),
            "amount": 100.0,
            "category": pd.Series("commit", index=n, dtype="str"),
        }
    )
    opps = pd.DataFrame({c: pd.Series([], dtype=d) for c, d in [
        ("opportunity_id", "str"), ("rep_id", "str"), ("created_at", _US), ("amount", "float64"), ("stage", "str"),
        ("status", "str"), ("expected_close_date", _US), ("closed_at", _US)]})  # fmt: skip
    return Dataset(tables={"reps": reps, "opportunities": opps, "forecasts": fc}, activities=None, as_of=pd.Timestamp(as_of))
