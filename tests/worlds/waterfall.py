"""A known-truth world for the pipeline waterfall: deals each given one declared story.

:func:`waterfall_world` writes opportunities and their history for the week
``S = Monday 16 November 2026 00:00`` to ``E = Monday 23 November 00:00`` and the Q4 2026
pipeline. Every deal follows one story (stays, created, created and won, pushed out, pulled
in, re-priced once or twice, won, lost, closed before the week, created after it, closed
after it, pulled in and won, created for next quarter), with its events at random moments
that include the edges (``S`` exactly, a microsecond after ``S``, ``E`` exactly, a
microsecond after ``E``) and expected close dates on the period's first and last days.
Noise after ``E`` (changes, closes) must not count. The declared truth is each deal's
amount, in cents, in each waterfall step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset

S = pd.Timestamp("2026-11-16")
E = pd.Timestamp("2026-11-23")
P0, P1 = pd.Timestamp("2026-10-01"), pd.Timestamp("2026-12-31")
US = pd.Timedelta(microseconds=1)
STORIES = (
    "stay", "new", "new_won", "new_out", "pushed", "pulled", "repriced", "won", "lost",
    "closed_before", "created_after", "closed_after", "pulled_won",
)


@dataclass(frozen=True)
class WaterfallWorld:
    """The dataset, each deal's story and the declared truth.

    ``truth``: one row per deal with ``opportunity_id``, ``team``, ``story`` and one column
    per waterfall step (``start``, ``new``, ..., ``end``): the deal's unsigned amount in
    cents in that step (0 when the deal is not in it), and ``in_<step>`` flags.
    """

    dataset: Dataset
    truth: pd.DataFrame


def waterfall_world(n_deals: int = 300, seed: int = 0) -> WaterfallWorld:
    """``n_deals`` deals over three teams, stories drawn uniformly (see the module docstring)."""
    rng = np.random.default_rng(seed)

    def cents() -> int:
        return int(rng.integers(0, 5_000_000))

    def before() -> pd.Timestamp:  # at or before S
        return S if rng.random() < 0.15 else S - pd.Timedelta(seconds=int(rng.integers(1, 40 * 86400)))

    def during() -> pd.Timestamp:  # in (S, E]
        u = rng.random()
        if u < 0.1:
            return S + US
        if u < 0.2:
            return E
        return S + pd.Timedelta(seconds=int(rng.integers(1, 7 * 86400)))

    def after() -> pd.Timestamp:  # after E
        return E + US if rng.random() < 0.2 else E + pd.Timedelta(seconds=int(rng.integers(1, 20 * 86400)))

    def ecd_in() -> pd.Timestamp:
        u = rng.random()
        return P0 if u < 0.1 else P1 if u < 0.2 else P0 + pd.Timedelta(days=int(rng.integers(0, 92)))

    def ecd_out() -> pd.Timestamp | None:
        u = rng.random()
        if u < 0.15:
            return None
        if u < 0.3:
            return P0 - pd.Timedelta(days=int(rng.integers(1, 30)))  # before the period
        return P1 + pd.Timedelta(days=int(rng.integers(1, 60)))  # 1 January or later

    opp_rows, hist_rows, truth_rows = [], [], []
    for i in range(n_deals):
        oid, rep = f"W{i:05d}", f"R{i % 6}"
        story = STORIES[int(rng.integers(len(STORIES)))]
        steps = dict.fromkeys(["start", "new", "pulled_in", "pushed_out", "amount_up", "amount_down", "won", "lost", "end"])
        rows: list[tuple[pd.Timestamp, str, int | None, pd.Timestamp | None]] = []
        status, closed = "open", None
        a, b = cents(), cents()
        if story in ("stay", "closed_after"):
            rows.append((before(), "Proposal", a, ecd_in()))
            steps.update(start=a, end=a)
            if story == "closed_after":
                status, closed = ("won" if rng.random() < 0.5 else "lost"), after()
                rows.append((closed, "Closed Won" if status == "won" else "Closed Lost", b, closed.normalize()))
            elif rng.random() < 0.5:  # noise after E: pushed and re-priced, too late to count
                rows.append((after(), "Proposal", b, P1 + pd.Timedelta(days=30)))
        elif story in ("new", "new_won", "new_out"):
            created = during()
            rows.append((created, "Prospecting", a, ecd_out() if story == "new_out" else ecd_in()))
            if story == "new":
                steps.update(new=a, end=a)
            elif story == "new_won" and created < E:
                closed = created + (E - created) * rng.random() + US
                closed = min(closed, E)
                status = "won"
                rows.append((closed, "Closed Won", b, ecd_in()))
                steps.update(new=b, won=b)
            elif story == "new_won":  # created at E exactly: cannot close after it within the week
                steps.update(new=a, end=a)
        elif story == "pushed":
            rows.append((before(), "Proposal", a, ecd_in()))
            rows.append((during(), "Proposal", b, ecd_out()))
            steps.update(start=a, pushed_out=b)
            steps["amount_up" if b > a else "amount_down"] = abs(b - a) if b != a else None
        elif story == "pulled":
            rows.append((before(), "Proposal", a, ecd_out()))
            rows.append((during(), "Proposal", b, ecd_in()))
            steps.update(pulled_in=b, end=b)
        elif story == "repriced":
            e = ecd_in()
            rows.append((before(), "Proposal", a, e))
            t1 = during()
            if rng.random() < 0.5 and t1 < E:  # two changes in the week: only the net counts
                rows.append((t1, "Proposal", cents(), e))
                t1 = min(E, t1 + pd.Timedelta(seconds=1))
            rows.append((t1, "Negotiation", b, e))
            steps.update(start=a, end=b)
            steps["amount_up" if b > a else "amount_down"] = abs(b - a) if b != a else None
        elif story in ("won", "lost"):
            rows.append((before(), "Negotiation", a, ecd_in()))
            closed, status = during(), story
            rows.append((closed, "Closed Won" if story == "won" else "Closed Lost", b, rng.choice([None, closed.normalize()])))
            steps.update(start=a)
            steps[story] = b
            steps["amount_up" if b > a else "amount_down"] = abs(b - a) if b != a else None
        elif story == "closed_before":
            created = before()
            rows.append((created, "Proposal", a, ecd_in()))
            closed = created if rng.random() < 0.3 else min(S, created + pd.Timedelta(hours=1))
            status = "lost"
            rows.append((closed, "Closed Lost", b, ecd_in()))
        elif story == "created_after":
            rows.append((after(), "Prospecting", a, ecd_in()))
        elif story == "pulled_won":
            rows.append((before(), "Proposal", a, ecd_out()))
            closed, status = during(), "won"
            rows.append((closed, "Closed Won", b, ecd_in()))
            steps.update(pulled_in=b, won=b)
        for t, stage, amount, ecd in rows:
            hist_rows.append((oid, t, stage, None if amount is None else amount / 100, ecd))
        last = rows[-1]
        opp_rows.append((oid, rep, rows[0][0], None if last[2] is None else last[2] / 100, last[1], status, last[3], closed))
        truth_rows.append(
            {"opportunity_id": oid, "rep_id": rep, "story": story}
            | {k: (0 if v is None else int(v)) for k, v in steps.items()}
            | {f"in_{k}": v is not None for k, v in steps.items()}
        )
    us = "datetime64[us]"
    opps = pd.DataFrame(
        opp_rows, columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date", "closed_at"]
    ).astype({"opportunity_id": "str", "rep_id": "str", "created_at": us, "amount": "float64", "stage": "str",
              "status": "str", "expected_close_date": us, "closed_at": us})
    hist = pd.DataFrame(hist_rows, columns=["opportunity_id", "changed_at", "stage", "amount", "expected_close_date"]).astype(
        {"opportunity_id": "str", "changed_at": us, "stage": "str", "amount": "float64", "expected_close_date": us}
    )
    reps = pd.DataFrame(
        {"rep_id": [f"R{j}" for j in range(6)], "rep_name": [f"Rep {j}" for j in range(6)],
         "team": ["North", "North", "South", "South", "West", "West"], "manager": ["M"] * 6}
    ).astype("str")
    truth = pd.DataFrame(truth_rows)
    truth["team"] = truth["rep_id"].map(dict(zip(reps["rep_id"], reps["team"], strict=True)))
    ds = Dataset(tables={"reps": reps, "opportunities": opps, "opportunity_history": hist}, activities=None,
                 as_of=max(hist["changed_at"].max(), E))
    return WaterfallWorld(dataset=ds, truth=truth)
