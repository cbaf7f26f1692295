"""Worlds with a declared truth for the routines (salesx2lib.routines).

* :func:`teachable_world`: a small sales floor as a :class:`Dataset` (activity log in the
  engine). Declared truth: top producers (by attainment within their team; the two teams
  have quotas four times apart, so raw revenue would put one whole team on top) make their
  dials in call blocks and the rest spread them over the day, so ``call_block_share``
  **differs** (higher for top producers); every rep follows every conversation on a deal
  with an e-mail ten minutes later, so ``same_day_follow_up_share`` is 1.0 for everyone:
  **uninformative**; the spacing of touches on deals is drawn the same way for everyone,
  so ``follow_up_days`` shows **no difference**.
* :func:`comparison_world`: one row per rep in the shape of ``routines.routines`` with
  rep-level values drawn directly (vectorised, for calibration over many seeds). Declared
  truth: top producers (top quarter of attainment within each team) differ from the rest
  by ``shift`` on ``call_block_share`` only; every other routine is independent of being a
  top producer.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset
from salesx2lib.routines import ROUTINES

#: Window of :func:`teachable_world`: two whole weeks.
WORLD_START, WORLD_END = pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-19")
#: Monthly quota per team in :func:`teachable_world` (January 2026, 31 days).
WORLD_QUOTAS = {"Big": 62_000.0, "Small": 15_500.0}


def teachable_world(seed: int = 0, reps_per_team: int = 6, tops_per_team: int = 2) -> tuple[Dataset, dict]:
    """A two-team floor over two weeks; returns the dataset and its declared truth.

    Truth: ``top`` = the ids of the declared top producers (attainment 1.2-1.5 against
    0.3-0.8 for the others); ``differs`` = ``{"call_block_share": "higher"}``;
    ``uninformative`` = ``["same_day_follow_up_share"]``; ``no_difference`` =
    ``["follow_up_days"]``.
    """
    rng = np.random.default_rng(seed)
    reps, acts, opps, quotas, top = [], [], [], [], []
    workdays = [d for d in pd.date_range(WORLD_START, WORLD_END - pd.Timedelta(days=1)) if d.day_of_week < 5]
    n = 0
    for team, monthly in WORLD_QUOTAS.items():
        window_quota = monthly * 14 / 31
        for i in range(reps_per_team):
            n += 1
            rep = f"{team[0]}{n:02d}"
            is_top = i < tops_per_team
            top += [rep] if is_top else []
            reps.append((rep, f"Rep {rep}", team, "M", "2025-01-06"))
            quotas.append((rep, pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-31"), monthly))
            attainment = rng.uniform(1.2, 1.5) if is_top else rng.uniform(0.3, 0.8)
            deal = f"o{rep}"
            opps.append((deal, rep, WORLD_START + pd.Timedelta(hours=8), WORLD_END - pd.Timedelta(days=2),
                         round(attainment * window_quota, 0)))
            for day in workdays:
                t0 = day + pd.Timedelta(hours=9)
                if is_top:  # three blocks of ten dials 1-4 minutes apart, then a few loose dials
                    times = []
                    for b in range(3):
                        start = t0 + pd.Timedelta(hours=2 * b)
                        times += list(start + pd.to_timedelta(np.cumsum(rng.uniform(60, 240, 10)), unit="s"))
                    loose = int(rng.integers(1, 9))
                    times += list(t0 + pd.Timedelta(hours=6) + pd.to_timedelta(np.cumsum(rng.uniform(720, 1200, loose)), unit="s"))
                else:  # thirty dials spread over the day, 12-20 minutes apart, now and then one block of six
                    times = list(t0 + pd.to_timedelta(np.cumsum(rng.uniform(720, 1200, 30)), unit="s"))
                    if rng.random() < 0.3:
                        times += list(t0 + pd.Timedelta(hours=8, minutes=30) + pd.to_timedelta(np.cumsum(rng.uniform(60, 240, 6)), unit="s"))
                acts += [(rep, t, "dial", None) for t in times]
                # conversations on the deal, each followed by an e-mail ten minutes later
                for c in np.sort(rng.uniform(9.5, 16.5, 2)):
                    t = (day + pd.Timedelta(hours=float(c))).floor("s")
                    acts += [(rep, t, "conversation", deal), (rep, t + pd.Timedelta(minutes=10), "email", deal)]
    log = pd.DataFrame(acts, columns=["rep_id", "occurred_at", "activity_type", "opportunity_id"])
    log = log.assign(activity_id=[f"a{i}" for i in range(len(log))],
                     occurred_at=pd.to_datetime(log["occurred_at"]).astype("datetime64[us]"))
    o = pd.DataFrame(opps, columns=["opportunity_id", "rep_id", "created_at", "closed_at", "amount"])
    o = o.assign(stage="Closed Won", status="won", expected_close_date=o["closed_at"].dt.normalize()).astype(
        {"opportunity_id": "str", "rep_id": "str", "stage": "str", "status": "str", "created_at": "datetime64[us]",
         "closed_at": "datetime64[us]", "expected_close_date": "datetime64[us]"})
    r = pd.DataFrame(reps, columns=["rep_id", "rep_name", "team", "manager", "hire_date"]).astype("str")
    r = r.assign(hire_date=pd.to_datetime(r["hire_date"]).astype("datetime64[us]"))
    q = pd.DataFrame(quotas, columns=["rep_id", "period_start", "period_end", "quota"]).astype(
        {"rep_id": "str", "period_start": "datetime64[us]", "period_end": "datetime64[us]"})
    ds = Dataset(tables={"reps": r, "opportunities": o, "quotas": q}, activities=ibis.memtable(log),
                 as_of=pd.Timestamp("2026-01-31"))
    truth = {"top": sorted(top), "differs": {"call_block_share": "higher"},
             "uninformative": ["same_day_follow_up_share"], "no_difference": ["follow_up_days"]}
    return ds, truth


def comparison_world(
    seed: int, *, teams: int = 4, reps_per_team: int = 8, shift: float = 0.0, top_quantile: float = 0.75
) -> pd.DataFrame:
    """Rep-level routines for ``teams x reps_per_team`` reps; truth: only ``call_block_share`` moves.

    Attainment ~ lognormal(0, 0.35); ``top_producer`` = attainment at or above the team's
    ``top_quantile`` quantile. Each routine ~ lognormal(0, 0.5) (skewed, positive),
    independently of everything; ``call_block_share`` adds ``shift`` for top producers.
    """
    rng = np.random.default_rng(seed)
    n = teams * reps_per_team
    team = np.repeat([f"T{i}" for i in range(teams)], reps_per_team)
    attainment = rng.lognormal(0.0, 0.35, n)
    threshold = pd.Series(attainment).groupby(team).transform(lambda v: v.quantile(top_quantile)).to_numpy()
    top = attainment >= threshold
    frame = pd.DataFrame({"rep_id": [f"r{i:03d}" for i in range(n)], "rep_name": "x", "team": team,
                          "full_window": True, "attainment": attainment, "won_revenue": attainment * 1000.0,
                          "top_producer": top})
    for name in ROUTINES:
        frame[name] = rng.lognormal(0.0, 0.5, n)
    frame["call_block_share"] = frame["call_block_share"] + shift * top
    return frame
