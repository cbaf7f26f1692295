"""Named result tables, the ones ``salesx2 metrics --table NAME`` prints.

Each entry calls the analysis modules, nothing more: this is where the command line,
scripts and tests get the same table under the same name. A table that needs a table
the dataset lacks raises :class:`~salesx2lib.dataset.MissingTableError` with one line
saying which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from salesx2lib import (
    accounts,
    cadence,
    coaching,
    competency,
    cycle,
    gaps,
    horizon,
    milestones,
    periods,
    relevance,
    rolling,
    rollup,
    routines,
    scrub,
    segments,
    training,
    waterfall,
)
from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import resolve_as_of
from salesx2lib.settings import Settings, load_settings

__all__ = ["FORECAST_TABLES", "METRIC_TABLES", "Query", "default_as_of", "metric_table"]

Freq = Literal["day", "week", "month"]


@dataclass(frozen=True)
class Query:
    """What a table is asked for: a date range ``[start, end)``, a period length, an as-of date."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    freq: Freq = "week"
    as_of: pd.Timestamp | None = None
    settings: Settings | None = None


def _activity(ds: Dataset, q: Query) -> pd.DataFrame:
    counts = rollup.activity_counts(ds.between(q.start, q.end) if q.start or q.end else ds, q.freq)
    return counts.merge(ds.reps[["rep_id", "team"]], on="rep_id", how="left")[
        ["rep_id", "team", "period_start", "activity_type", "count", "prospecting"]
    ]


def _funnel(ds: Dataset, q: Query) -> pd.DataFrame:
    return competency.funnel(competency.rep_counts(ds, q.start, q.end))


def _relevance(ds: Dataset, q: Query) -> pd.DataFrame:
    return relevance.relevance_table(ds, q.start, q.end, q.freq, q.as_of, q.settings)


def _gaps(ds: Dataset, q: Query) -> pd.DataFrame:
    return gaps.gap_decomposition(competency.rep_counts(ds, q.start, q.end))


def _cycle(ds: Dataset, q: Query) -> pd.DataFrame:
    return cycle.sales_cycle(ds, q.as_of, settings=q.settings)


def _horizon(ds: Dataset, q: Query) -> pd.DataFrame:
    return horizon.horizon_accuracy(ds, q.as_of, q.settings)


def _rolling(ds: Dataset, q: Query) -> pd.DataFrame:
    return rolling.rolling_forecast(ds, q.as_of, q.settings, by="rep")


def _scrub(ds: Dataset, q: Query) -> pd.DataFrame:
    return scrub.scrub(ds, q.as_of, q.settings)


def _accounts(ds: Dataset, q: Query) -> pd.DataFrame:
    return accounts.account_table(ds, q.as_of, q.settings)
def _cadence(ds: Dataset, q: Query) -> pd.DataFrame:
    return cadence.forecast_cadence(ds, q.as_of, q.settings)


def _waterfall(ds: Dataset, q: Query) -> pd.DataFrame:
    return waterfall.waterfall(ds, q.as_of, q.settings, start=q.start)


def _waterfall_deals(ds: Dataset, q: Query) -> pd.DataFrame:
    return waterfall.waterfall_deals(ds, q.as_of, q.settings, start=q.start)


def _backtest(ds: Dataset, q: Query) -> pd.DataFrame:
    return rolling.backtest_summary(ds, q.settings, start=q.start, end=q.end)


def _calibration(ds: Dataset, q: Query) -> pd.DataFrame:
    return rolling.calibration(ds, q.settings, start=q.start, end=q.end)


def _segments(ds: Dataset, q: Query) -> pd.DataFrame:
    table = segments.current_segments(ds, q.as_of, q.settings)
    ladder = milestones.open_milestones(milestones.milestones(ds, q.as_of, q.settings))
    return table.merge(ladder, on="rep_id", how="left")


_SEGMENT_HISTORY_COLUMNS = [
    "rep_id", "as_of", "segment", "reason", "rep_name", "team", "rule_segment", "segment_since", "pending_segment",
    "pending_evaluations", "attainment", "attainment_ci_low", "attainment_ci_high", "p_at_quota", "won_deals",
    "months_at_quota", "months", "competency_percentile", "tenure_days", "management_style",
]


def _segment_history(ds: Dataset, q: Query) -> pd.DataFrame:
    return segments.segment_history(ds, q.settings, as_of=q.as_of)[_SEGMENT_HISTORY_COLUMNS]


def _milestones(ds: Dataset, q: Query) -> pd.DataFrame:
    return milestones.milestones(ds, q.as_of, q.settings)


def _routines(ds: Dataset, q: Query) -> pd.DataFrame:
    return routines.routines(ds, q.start, q.end, q.settings)


def _coaching(ds: Dataset, q: Query) -> pd.DataFrame:
    return coaching.coaching_priorities(ds, q.start, q.end, settings=q.settings)


def _coaching_review(ds: Dataset, q: Query) -> pd.DataFrame:
    return coaching.coaching_review(ds, q.start, q.end, settings=q.settings)


def _next_milestones(ds: Dataset, q: Query) -> pd.DataFrame:
    review = coaching.coaching_review(ds, end=periods.trailing_range(q.as_of)[1], settings=q.settings)
    return milestones.next_milestones(milestones.milestones(ds, q.as_of, q.settings), review, q.as_of, q.settings)


def _training(ds: Dataset, q: Query) -> pd.DataFrame:
    return training.training_effects(ds, q.settings)


#: Table name -> (function, one-line description for ``--help``).
METRIC_TABLES: dict[str, tuple[Callable[[Dataset, Query], pd.DataFrame], str]] = {
    "activity": (_activity, "activity counts per rep, period (--freq) and activity_type"),
    "funnel": (_funnel, "per rep and ratio: successes, trials, rate, Wilson 95% interval, shrunk rate"),
    "relevance": (_relevance, "per metric: rank correlation with the next sales cycle's won revenue within each period, adjusted p-value"),
    "gaps": (_gaps, "per rep and factor: share of the log revenue gap to the team median"),
    "cycle": (_cycle, "per team and all: Kaplan-Meier sales cycle (open deals censored) next to the won-only median"),
    "horizon": (_horizon, "per team and all, per horizon bucket: n, forecast, actual, bias, WAPE, accuracy, hit rate"),
    "rolling": (_rolling, "per rep: the rolling forecast after --as-of (every open deal x its win-in-window probability, plus new business) with its 80% interval"),
    "scrub": (_scrub, "per open deal as of --as-of: gate, the six scrub flags and what to ask the rep"),
    "accounts": (_accounts, "per account as of --as-of: open pipeline, reps, last activity, win history (Wilson interval), the account flags and what to ask"),
    "cadence": (_cadence, "per rep: weeks with a forecast submission out of the last [forecast] cadence_weeks complete weeks before --as-of, Wilson 95% interval, last submission, submitted this week"),
    "waterfall": (_waterfall, "per team and all: the pipeline of the quarter at --start (default a week before --as-of) and --as-of, and what moved it: new, pulled in, pushed out, amount up/down, won, lost"),
    "waterfall_deals": (_waterfall_deals, "per deal: each movement of the waterfall between --start and --as-of, with what happened in words"),
    "backtest": (_backtest, "weekly since --start, per team: bias, WAPE and skill (vs run-rate) of rolling, submitted, run_rate, stage_weighted; interval coverage"),
    "calibration": (_calibration, "weekly since --start: predicted vs realised win-in-window rate per probability decile, Brier score, 80% interval coverage"),
    "segments": (_segments, "per rep as of --as-of: segment (with hysteresis: the last month end's), scores, reason, style"),
    "segment_history": (_segment_history, "per rep and month end up to --as-of: segment with hysteresis, the rules' verdict, reason"),
    "milestones": (_milestones, "per rep and milestone on the road to self_sustained: held now (latest weeks/months), since when"),
    "next_milestones": (_next_milestones, "per developing/hands_on rep as of --as-of: the next milestone (coaching competency) and its date"),
    "routines": (_routines, "per rep: teachable routines (call blocks, follow-up cadence, touches before the appointment, same-day follow-up, conversation days, next steps), attainment and top producers within the team"),
    "coaching": (_coaching, "the coaching list: per rep a competency below target with P >= 0.9, ranked by expected revenue gain"),
    "coaching_review": (_coaching_review, "every rep's coaching decision: priority, backed_off (self_sustained), no_clear_gap, no_data"),
    "training": (_training, "per training: effect vs matched untrained reps (diff in diff), pre-trend check, placebo-calibrated interval, verdict"),
}


#: Tables whose as-of date follows the weekly rule when none is given
#: (:func:`salesx2lib.pipeline.resolve_as_of`: Monday 00:00 after the latest complete week).
FORECAST_TABLES: frozenset[str] = frozenset({"rolling", "scrub", "accounts", "backtest", "calibration", "cadence", "waterfall", "waterfall_deals"})


def default_as_of(dataset: Dataset, name: str) -> pd.Timestamp:
    """The as-of date table ``name`` uses when none is given.

    The weekly rule (:func:`salesx2lib.pipeline.resolve_as_of`, Monday 00:00 after the
    latest complete week) for :data:`FORECAST_TABLES`; the dataset's own as-of date (its
    latest event) for the others (``cycle`` and ``horizon`` measure the past up to it).
    """
    return resolve_as_of(dataset, None, default="week_end" if name in FORECAST_TABLES else "latest_event")


def metric_table(
    dataset: Dataset,
    name: str,
    *,
    team: str | list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    freq: Freq = "week",
    as_of: str | pd.Timestamp | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The result table ``name`` for ``dataset``, optionally one team's, over ``[start, end)``.

    Parameters
    ----------
    dataset
        A loaded dataset.
    name
        One of :data:`METRIC_TABLES`.
    team
        Restrict to this team (or these teams) first.
    start, end
        Date range, start inclusive, end exclusive; default all data.
    freq
        Period of the tables that have periods (``activity``, ``relevance``).
    as_of
        The as-of date of the tables that have one (``cycle``, ``horizon``, ``rolling``,
        ``scrub``, ``accounts``, ``cadence``, ``waterfall``, ``segments``; ``segment_history``
        runs up to it); default :func:`default_as_of` (the weekly rule for
        :data:`FORECAST_TABLES`, the dataset's latest event for the others).
    settings
        Settings; default the packaged defaults.
    """
    if name not in METRIC_TABLES:
        raise ValueError(f"unknown table {name!r} (tables: {', '.join(METRIC_TABLES)})")
    ds = dataset.for_team(team) if team else dataset
    query = Query(
        start=pd.Timestamp(start) if start is not None else None,
        end=pd.Timestamp(end) if end is not None else None,
        freq=freq,
        as_of=pd.Timestamp(as_of) if as_of is not None else default_as_of(ds, name),
        settings=settings or load_settings(),
    )
    if query.start is not None and query.end is not None and query.end <= query.start:
        raise ValueError(f"--end {query.end.date()} must be after --start {query.start.date()}")
    function, _ = METRIC_TABLES[name]
    return function(ds, query)
