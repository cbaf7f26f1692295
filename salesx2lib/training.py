"""Training effect: did the trained competency improve, compared with matched reps who were not trained (principle 3)?

For each row of the ``trainings`` table, :func:`training_effects` compares the trained
competency of the trained rep over equal windows before and after ``completed_at`` with
the change of a few **matched** untrained reps over the same windows (a difference in
differences), checks that the rep was not already moving before the training (a
**pre-trend check**), and calibrates both intervals on **placebo trainings**: the same
statistic computed for untrained reps at many dates (placebo in space and in time), where
the true effect is zero. A rep with too few trials gets ``insufficient_data``, never an
effect called real.

The computation lives in :func:`effects_from_events`, a pure function of per-rep event
counts (``rep_id``, ``at``, ``n``, ``x``, ``xx``); :func:`competency_events` builds those
counts from a dataset:

* ``connect_rate``, ``conversation_to_appointment``, ``appointment_to_opportunity``: the
  funnel counts of :func:`salesx2lib.competency.rep_counts` per day (successes and trials
  of :data:`salesx2lib.competency.FUNNEL_METRICS`), the training day split at the training
  moment;
* ``win_rate``: one event per deal **created** in the window, ``n = 1`` if won or lost,
  ``x = 1`` if won (a training changes how deals created after it are worked); deals
  still open are left out and counted;
* ``deal_size``: one event per won deal created in the window, ``x`` its log amount and
  ``xx`` the square, so the effect is relative (0.25 = 25% larger deals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import ceil

import numpy as np
import pandas as pd

from salesx2lib import competency
from salesx2lib.dataset import Dataset
from salesx2lib.settings import Settings, load_settings

__all__ = [
    "COMPETENCY_METRICS",
    "VERDICTS",
    "competency_events",
    "effects_from_events",
    "placebo_trainings",
    "training_effects",
]

#: The measure of each training competency (schema.COMPETENCIES) and what its trials are called.
COMPETENCY_METRICS: dict[str, tuple[str, str]] = {
    "connect_rate": ("connect_rate", "dials"),
    "conversation_to_appointment": ("conversation_to_appointment", "conversations"),
    "appointment_to_opportunity": ("appointment_to_opportunity", "prospect appointments"),
    "win_rate": ("win_rate", "decided deals"),
    "deal_size": ("avg_deal_size", "won deals"),
}

#: The values of the ``verdict`` column, from best to "cannot tell".
VERDICTS: tuple[str, ...] = ("improved", "no_clear_change", "worse", "pre_trend_failed", "insufficient_data")

#: Shortest window (days) a training is measured on.
MIN_WINDOW_DAYS = 14

_DAY = pd.Timedelta(days=1)

_COLUMNS: dict[str, str] = {
    "rep_id": "str",
    "team": "str",
    "competency": "str",
    "metric": "str",
    "completed_at": "datetime64[us]",
    "window_days": "int64",
    "rep_before": "float64",
    "rep_after": "float64",
    "rep_n_before": "int64",
    "rep_n_after": "int64",
    "control_before": "float64",
    "control_after": "float64",
    "n_control_reps": "int64",
    "controls": "str",
    "control_pool": "str",
    "effect": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "p_value": "float64",
    "pre_trend": "float64",
    "pre_trend_low": "float64",
    "pre_trend_high": "float64",
    "pre_trend_check": "str",
    "n_placebos": "int64",
    "effect_unit": "str",
    "verdict": "str",
    "sentence": "str",
    "warning": "str",
}

_EVENT_COLUMNS = ["rep_id", "at", "n", "x", "xx"]


# ---------------------------------------------------------------------------------------
# events from a dataset


def _activity_day_counts(dataset: Dataset, split_at: Iterable[pd.Timestamp]) -> pd.DataFrame:
    """:func:`competency.rep_counts` per rep and day as ``rep_id``, ``at`` and the count
    columns, with each day holding a time of ``split_at`` cut into pieces at those times
    (a piece's ``at`` is its start), so an event is before or after a training to the second."""
    daily = competency.rep_counts(dataset, freq="day").rename(columns={"period_start": "at"}).drop(columns="team")
    columns = [c for c in daily.columns if c not in ("rep_id", "at")]
    times = sorted({pd.Timestamp(t) for t in split_at if pd.Timestamp(t) != pd.Timestamp(t).normalize()})
    pieces = []
    for day in sorted({t.normalize() for t in times}):
        # counts of [day, t) for each time t of the day (one engine call each); the pieces are
        # their differences, and the last piece is the whole day minus [day, last t)
        whole = daily.loc[daily["at"] == day].set_index("rep_id")[columns]
        upto = [competency.rep_counts(dataset, day, t).set_index("rep_id")[columns] for t in times if t.normalize() == day]
        cumulative = [whole.reindex(upto[0].index, fill_value=0) * 0, *upto,
                      whole.reindex(upto[0].index, fill_value=0)]
        starts = [day, *[t for t in times if t.normalize() == day]]
        for lo, a, b in zip(starts, cumulative[:-1], cumulative[1:], strict=True):
            pieces.append((b - a).reset_index().assign(at=lo))
        daily = daily.loc[daily["at"] != day]
    out = pd.concat([daily, *pieces], ignore_index=True) if pieces else daily
    return out.astype({"at": "datetime64[us]"})


def _rate_events(counts: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Events of an activity ratio from :func:`_activity_day_counts`: its funnel successes and trials."""
    num, dens = competency.FUNNEL_METRICS[metric]
    return pd.DataFrame({"rep_id": counts["rep_id"], "at": counts["at"], "n": counts[list(dens)].sum(axis=1),
                         "x": counts[num], "xx": 0.0})


def _tidy_events(out: pd.DataFrame) -> pd.DataFrame:
    """Rows with something to count (a day with opportunities but no appointment is kept)."""
    out = out.loc[(out["n"] > 0) | (out["x"] != 0), _EVENT_COLUMNS]
    return out.astype({"rep_id": "str", "at": "datetime64[us]", "n": "float64", "x": "float64", "xx": "float64"}
                      ).reset_index(drop=True)


def competency_events(dataset: Dataset, competency_name: str, split_at: Iterable[pd.Timestamp] = ()) -> pd.DataFrame:
    """The per-rep event counts a training's competency is measured on.

    ``n`` is trials and ``x`` successes for a rate (``rate = sum x / sum n`` over a window);
    for ``deal_size`` each won deal (amount > 0) is one event with ``n = 1``, ``x = log
    amount`` and ``xx = x**2`` (the window's mean log amount is ``sum x / sum n``).

    Parameters
    ----------
    dataset
        The data (the activity log for the three activity ratios).
    competency_name
        A key of :data:`COMPETENCY_METRICS`.
    split_at
        Times (trainings) at which a day of activity counts is cut in two, so that
        counts before and after each time are apart.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``at`` (day start, piece start or deal creation), ``n``, ``x``, ``xx``
        (float64; ``xx`` is 0 for rates).
    """
    metric, _ = COMPETENCY_METRICS[competency_name]
    if metric in competency.ACTIVITY_METRICS:
        dataset.require("activities")
        out = _rate_events(_activity_day_counts(dataset, split_at), metric)
    else:
        o = dataset.opportunities
        if metric == "win_rate":
            out = pd.DataFrame({"rep_id": o["rep_id"], "at": o["created_at"],
                                "n": o["status"].isin(["won", "lost"]), "x": o["status"] == "won", "xx": 0.0})
        else:
            won = o.loc[(o["status"] == "won") & (o["amount"] > 0)]
            log = np.log(won["amount"].to_numpy(dtype="float64"))
            out = pd.DataFrame({"rep_id": won["rep_id"], "at": won["created_at"], "n": 1.0, "x": log, "xx": log**2})
    return _tidy_events(out)


# ---------------------------------------------------------------------------------------
# the statistics


@dataclass(frozen=True)
class _Levels:
    """Per rep (arrays over the rep axis): window levels, half-window levels and their variances."""

    n_before: np.ndarray
    n_after: np.ndarray
    n_half: np.ndarray  # (reps, 2): the two halves of the before window
    before: np.ndarray
    after: np.ndarray
    half: np.ndarray  # (reps, 2)
    v_before: np.ndarray
    v_after: np.ndarray
    v_half: np.ndarray  # (reps, 2)


def _week_variance(n: np.ndarray, x: np.ndarray, masks: list[np.ndarray], pool: np.ndarray,
                   groups: np.ndarray) -> float:
    """The variance ``tau2`` of a rep's own weekly rate around its window rate beyond binomial
    noise (its good and bad weeks), pooled over the reps of ``pool`` and the windows ``masks``
    (method of moments, never below 0). Swings common to a group (the rep's team when it has
    3 or more reps in ``pool``, else the whole pool: the calendar, a team's campaign) are
    taken out first, as the difference in differences takes them out: with bins ``k`` of a
    window, ``c_k`` the group's rate in bin ``k`` minus its window rate and
    ``e_k = x_k - n_k (p + c_k)``::

        tau2 = sum(e_k^2 - n_k p (1 - p) (1 - n_k / n)) / sum(n_k^2 (1 - 2 n_k / n + sum_j n_j^2 / n^2))
    """
    idx = np.flatnonzero(pool)
    names, code, counts = np.unique(groups[idx], return_inverse=True, return_counts=True)
    code = np.where(counts[code] >= 3, code, len(names))  # small groups pooled into one
    num = den = 0.0
    for m in masks:
        nn, xx = n[idx][:, m], x[idx][:, m]
        tot = nn.sum(axis=1, keepdims=True)
        ok = tot[:, 0] > 0
        if not ok.any():
            continue
        nn, xx, tot, cc = nn[ok], xx[ok], tot[ok], code[ok]
        p = xx.sum(axis=1, keepdims=True) / tot
        gn, gx = np.zeros((len(names) + 1, nn.shape[1])), np.zeros((len(names) + 1, nn.shape[1]))
        np.add.at(gn, cc, nn)
        np.add.at(gx, cc, xx)
        with np.errstate(divide="ignore", invalid="ignore"):
            common = np.where(gn > 0, gx / gn, 0.0) - (gx.sum(axis=1) / gn.sum(axis=1))[:, None]
        e = xx - nn * (p + np.nan_to_num(common[cc]))
        num += float(np.sum(e**2 - nn * p * (1 - p) * (1 - nn / tot)))
        den += float(np.sum(nn**2 * (1 - 2 * nn / tot + (nn**2).sum(axis=1, keepdims=True) / tot**2)))
    return max(num / den, 0.0) if den > 0 else 0.0


def _levels(pieces: np.ndarray, labels: np.ndarray, kind: str, pool: np.ndarray, groups: np.ndarray) -> _Levels:
    """Levels from bin sums ``pieces[rep, bin, (n, x, xx)]``; ``labels[bin]`` is 0 (first
    half of the before window), 1 (second half) or 2 (after window); bins are weeks.

    Rate: ``p = x / n`` (``x`` capped at ``n`` in each window) and ``var = p~ (1 - p~) / n + tau2 sum_k n_k^2 / n^2``
    with ``p~ = (x + 0.5) / (n + 1)`` (never 0) and ``tau2`` the week-to-week variance of
    :func:`_week_variance` (pooled over ``pool``). Log amounts: ``mean = x / n``,
    ``var = s2 / n`` with ``s2`` the variance of log amounts within rep and window pooled
    over ``pool`` (a handful of deals gives no variance of its own worth using).
    """
    n, x, xx = pieces[..., 0], pieces[..., 1], pieces[..., 2]
    masks = [labels < 2, labels == 2, labels == 0, labels == 1]  # before, after, half 1, half 2

    def sums(a):
        return [a[:, m].sum(axis=1) for m in masks]

    ns, xs, xxs, n2s = sums(n), sums(x), sums(xx), sums(n**2)
    if kind == "rate":  # successes capped at trials per window, as in the funnel
        xs = [np.minimum(xi, ni) for xi, ni in zip(xs, ns, strict=True)]
    with np.errstate(divide="ignore", invalid="ignore"):
        level = [xi / ni for xi, ni in zip(xs, ns, strict=True)]
        if kind == "rate":
            tau2 = _week_variance(n, x, masks[:2], pool, groups)
            pt = [(xi + 0.5) / (ni + 1.0) for xi, ni in zip(xs, ns, strict=True)]
            var = [q * (1 - q) / ni + tau2 * n2 / ni**2 for q, ni, n2 in zip(pt, ns, n2s, strict=True)]
        else:
            ss = sum(np.where(ns[j][pool] > 0, xxs[j][pool] - xs[j][pool] ** 2 / ns[j][pool], 0.0) for j in (0, 1))
            df = sum(np.clip(ns[j][pool] - 1, 0, None) for j in (0, 1))
            s2 = float(np.nansum(ss) / df.sum()) if df.sum() > 0 else np.nan
            var = [s2 / ni for ni in ns]
    return _Levels(ns[0], ns[1], np.stack(ns[2:], axis=1), level[0], level[1], np.stack(level[2:], axis=1),
                   var[0], var[1], np.stack(var[2:], axis=1))


def _usable(lv: _Levels) -> np.ndarray:
    """Reps with trials in both halves of the before window and in the after window (a control must be)."""
    return (lv.n_half[:, 0] > 0) & (lv.n_half[:, 1] > 0) & (lv.n_after > 0)


def _matched(treated: np.ndarray, cand: np.ndarray, teams: np.ndarray, level: np.ndarray, k: int,
             min_team: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each rep of ``treated``, its controls among ``cand`` (never itself): the ``k`` of
    its team nearest to its before level, or the whole floor's ``k`` nearest when the team
    has fewer than ``min_team`` candidates. Returns ``(controls, valid, fell_back)``:
    ``controls[i, :k]`` indices into the rep axis, ``valid`` marks real entries (fewer
    than ``k`` candidates), ``fell_back[i]`` the floor was used. Ties go to the earlier rep."""
    same = teams[treated][:, None] == teams[cand][None, :]
    other = treated[:, None] != cand[None, :]
    team_ok = same & other
    fell_back = team_ok.sum(axis=1) < min_team
    allowed = np.where(fell_back[:, None], other, team_ok)
    dist = np.abs(level[treated][:, None] - level[cand][None, :])
    dist = np.where(allowed, dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    valid = np.isfinite(np.take_along_axis(dist, order, axis=1))
    return cand[order], valid, fell_back


def _did(lv: _Levels, treated: np.ndarray, controls: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Difference in differences of each rep of ``treated`` against its controls, and its pre-trend twin::

        effect = (after_i - before_i) - mean_c (after_c - before_c)
        se^2   = v_after_i + v_before_i + sum_c (v_after_c + v_before_c) / m^2
        pre    = (half2_i - half1_i) - mean_c (half2_c - half1_c)   (same se formula)
    """
    m = valid.sum(axis=1)
    change, v = lv.after - lv.before, lv.v_after + lv.v_before
    trend, v_trend = lv.half[:, 1] - lv.half[:, 0], lv.v_half.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        def mean(a):
            return np.where(valid, a[controls], 0.0).sum(axis=1) / m

        effect = change[treated] - mean(change)
        se = np.sqrt(v[treated] + np.where(valid, v[controls], 0.0).sum(axis=1) / m**2)
        pre = trend[treated] - mean(trend)
        se_pre = np.sqrt(v_trend[treated] + np.where(valid, v_trend[controls], 0.0).sum(axis=1) / m**2)
    return effect, se, pre, se_pre


def _critical(stats: np.ndarray, confidence: float) -> float:
    """The permutation critical value: the ``ceil(confidence (N + 1))``-th smallest of ``N``
    absolute placebo statistics (NaN when ``N`` is too small for that confidence)."""
    s = np.sort(np.abs(stats[np.isfinite(stats)]))
    k = ceil(confidence * (len(s) + 1))
    return float(s[k - 1]) if 0 < k <= len(s) else np.nan


@dataclass(frozen=True)
class _Reference:
    """Studentized placebo statistics: ``t = effect / se`` and ``t_pre = pre / se_pre``."""

    t: np.ndarray
    t_pre: np.ndarray


def _labels(starts: list, half: object, t: object) -> np.ndarray:
    """Bin labels from bin starts: 0 before ``half``, 1 before ``t``, 2 from ``t`` on."""
    return np.array([0 if b < half else 1 if b < t else 2 for b in starts])


class _Engine:
    """Events of one competency as per-rep cumulative day sums, for fast window sums."""

    def __init__(self, events: pd.DataFrame, rep_ids: np.ndarray, start: pd.Timestamp, as_of: pd.Timestamp):
        self.rep_ids = rep_ids
        self.start = start.normalize()
        self.end = as_of.normalize()  # the last day counted whole is the day before
        self.days = max(int((self.end - self.start) / _DAY), 0)
        e = events.loc[(events["at"] >= self.start) & (events["at"] < self.end)]
        r = pd.Index(rep_ids).get_indexer(e["rep_id"])
        d = ((e["at"] - self.start) // _DAY).to_numpy(dtype="int64")
        keep = r >= 0
        grid = np.zeros((len(rep_ids), self.days, 3))
        np.add.at(grid, (r[keep], d[keep]), e.loc[keep, ["n", "x", "xx"]].to_numpy())
        self.cum = np.concatenate([np.zeros((len(rep_ids), 1, 3)), np.cumsum(grid, axis=1)], axis=1)
        self._at = events["at"].to_numpy(dtype="datetime64[us]")
        self._rep = pd.Index(rep_ids).get_indexer(events["rep_id"])
        self._values = events[["n", "x", "xx"]].to_numpy(dtype="float64")

    def day_pieces(self, d0: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Weekly bin sums and labels for a placebo date at midnight of day index ``d0``."""
        bounds = sorted({d0 - length, d0 - length // 2, d0, d0 + length,
                         *range(d0 - 7, d0 - length, -7), *range(d0 + 7, d0 + length, 7)})
        c = self.cum[:, bounds]
        return c[:, 1:] - c[:, :-1], _labels(bounds[:-1], d0 - length // 2, d0)

    def exact_pieces(self, t: pd.Timestamp, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Weekly bin sums and labels for a training at ``t``: before ``[D - L, t)`` (halves
        split at ``D - L/2``), after ``[t, D + L)``, ``D`` the training's day, to the second."""
        day = t.normalize()
        bounds = sorted({day - length * _DAY, day - (length // 2) * _DAY, t, day + length * _DAY,
                         *(day - j * _DAY for j in range(7, length, 7)), *(day + j * _DAY for j in range(7, length, 7))})
        edges = np.array([b.to_datetime64() for b in bounds], dtype="datetime64[us]")
        out = np.zeros((len(self.rep_ids), len(bounds), 3))
        piece = np.searchsorted(edges, self._at, side="right") - 1
        keep = (piece >= 0) & (piece < len(bounds) - 1) & (self._rep >= 0)
        np.add.at(out, (self._rep[keep], piece[keep]), self._values[keep])
        return out[:, :-1], _labels(bounds[:-1], day - (length // 2) * _DAY, t)


def _reference(engine: _Engine, kind: str, pool: np.ndarray, teams: np.ndarray, hire: np.ndarray, length: int,
               phase: int, min_size: float, k: int, min_team: int) -> _Reference:
    """Placebo statistics of every rep of ``pool`` at every placebo date whose windows fit in
    the data: midnight of every day ``d0`` with ``d0 = phase (mod 7)`` (days counted from the
    data's first day), so placebo weeks fall on the same weekdays as the training's weeks;
    reps hired before the before window, with at least half the minimum trials in each
    window, each against its own matched controls from ``pool``."""
    ts, tps = [], []
    first = length + (phase - length) % 7
    for d0 in range(first, engine.days - length + 1, 7):
        date = engine.start + d0 * _DAY
        ok = pool & ~(hire >= (date - length * _DAY).to_datetime64())
        if ok.sum() < 2:
            continue
        pieces, labels = engine.day_pieces(d0, length)
        lv = _levels(pieces, labels, kind, ok, teams)
        cand = np.flatnonzero(ok & _usable(lv))
        treated = cand[np.minimum(lv.n_before[cand], lv.n_after[cand]) >= min_size / 2]
        if len(cand) < 2 or not len(treated):
            continue
        controls, valid, _ = _matched(treated, cand, teams, lv.before, k, min_team)
        effect, se, pre, se_pre = _did(lv, treated, controls, valid)
        with np.errstate(divide="ignore", invalid="ignore"):
            ts.append(np.where(se > 0, effect / se, np.nan))
            tps.append(np.where(se_pre > 0, pre / se_pre, np.nan))
    if not ts:
        return _Reference(np.array([], dtype="float64"), np.array([], dtype="float64"))
    return _Reference(np.concatenate(ts), np.concatenate(tps))


def _fmt(value: float, relative: bool, signed: bool = False) -> str:
    if not np.isfinite(value):
        return "n/a"
    if relative:
        return f"{value:+.0%}" if signed else f"{value:,.0f}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def effects_from_events(
    events: pd.DataFrame,
    reps: pd.DataFrame,
    trainings: pd.DataFrame,
    *,
    kind: str,
    start: pd.Timestamp,
    as_of: pd.Timestamp,
    settings: Settings | None = None,
    weeks: int | None = None,
    confidence: float = 0.95,
    trained: pd.DataFrame | None = None,
    placebo: bool = False,
    trial_name: str = "trials",
) -> pd.DataFrame:
    """The effect of each training on one competency, from per-rep event counts.

    With ``D`` the training's day, ``t`` its moment and ``L`` the window
    (``[training] window_weeks`` × 7 days, cut to the data on either side, both sides
    alike): before = ``[D − L, t)`` (halves ``[D − L, D − L/2)`` and ``[D − L/2, t)``),
    after = ``[t, D + L)``. A rep's level in a window is ``sum x / sum n`` (a rate, or the
    mean log amount). With ``c`` the matched controls (``m`` of them)::

        effect = (after_rep − before_rep) − mean_c (after_c − before_c)
        se     = sqrt(v_after_rep + v_before_rep + Σ_c (v_after_c + v_before_c) / m²)
        pre    = (half2_rep − half1_rep) − mean_c (half2_c − half1_c)     (the pre-trend check)
        ci     = effect ± q × se,   pre-trend interval = pre ± q_pre × se_pre

    ``v`` of a rate is ``p(1 − p)/n + tau2 Σ_k n_k² / n²`` over the window's weekly bins
    ``k`` (``p`` shrunk by half a trial so it is never 0; ``tau2`` the week-to-week variance
    of a rep's rate beyond binomial noise, pooled over the reps compared with team-wide
    swings taken out, :func:`_week_variance`), or ``s²/n`` for log amounts (``s²`` pooled
    within rep and window). ``q`` and ``q_pre`` are **not** 1.96: they are the
    ``ceil(confidence × (N + 1))``-th smallest of the ``N`` absolute studentized statistics
    ``|effect/se|`` (``|pre/se_pre|``) of placebo trainings: every never-trained rep
    (hired before the window, with at least half the minimum trials) at every date, 7 days
    apart on the training's weekday, whose windows fit in the data, with its own matched
    controls. Trials of one rep are not independent (good and bad weeks, team-wide swings,
    drift); the placebos carry all of that, so the interval is as wide as placebo effects
    really are, and ``p_value = (1 + #{|t_placebo| ≥ |t|}) / (N + 1)``.

    Controls: reps with no training completed before the after window ends, hired before
    the before window starts, with trials in both halves of the before window and in the
    after window; the ``controls`` of the rep's team nearest to its before level, or the
    whole floor's nearest when the team has fewer than ``min_team_controls`` (``control_pool``
    says ``floor``).

    Verdict: ``insufficient_data`` when the rep has fewer than ``min_trials`` (rates of
    activities) or ``min_deals`` (win rate, deal size) in either window, the window is
    shorter than 14 days, there is no control or too few placebos to calibrate (fewer than
    ``1 / (1 − confidence) − 1``); else ``pre_trend_failed`` when the pre-trend interval
    excludes 0 (the rep was already moving: the comparison cannot be trusted); else
    ``improved`` / ``worse`` when the interval is above / below 0, and ``no_clear_change``.

    Parameters
    ----------
    events
        ``rep_id``, ``at``, ``n``, ``x``, ``xx`` (see :func:`competency_events`).
    reps
        ``rep_id``, ``team`` and optionally ``hire_date``.
    trainings
        The trainings of this competency to measure: ``rep_id``, ``competency``, ``completed_at``.
    kind
        ``"rate"`` or ``"log"`` (deal size: effect and interval reported as ``exp(.) − 1``).
    start, as_of
        The data's first day and end; windows are cut to fit between them.
    settings
        The ``[training]`` settings (the packaged defaults when ``None``).
    weeks
        Overrides ``window_weeks``.
    confidence
        Two-sided coverage of the intervals.
    trained
        Every training of the dataset (``rep_id``, ``completed_at``), for the choice of
        controls and placebos; ``trainings`` when ``None``.
    placebo
        ``trainings`` are placebos: each row's rep is left out of its own controls only
        (not of the other rows'), and stays among the placebo trainings that calibrate
        the interval (the observed statistic is one of the permutations).
    trial_name
        What the trials are called, for the sentences.

    Returns
    -------
    pandas.DataFrame
        One row per training, columns as :func:`training_effects`.
    """
    if kind not in ("rate", "log"):
        raise ValueError(f"kind must be 'rate' or 'log', not {kind!r}")
    s = settings or load_settings()
    window = (weeks if weeks is not None else s.training_window_weeks) * 7
    if s.training_controls < 1 or s.training_min_team_controls < 1:
        raise ValueError("[training] controls and min_team_controls must be at least 1")
    names = set(trainings["competency"])
    min_size = s.training_min_deals if names & {"win_rate", "deal_size"} else s.training_min_trials
    relative = kind == "log"
    rep_ids = reps["rep_id"].astype("str").to_numpy()
    teams = reps["team"].astype("str").to_numpy()
    hire_arr = (pd.to_datetime(reps["hire_date"]).to_numpy(dtype="datetime64[us]") if "hire_date" in reps.columns
                else np.full(len(reps), np.datetime64("NaT"), dtype="datetime64[us]"))
    trained = trainings if trained is None else trained
    ever = np.isin(rep_ids, trained["rep_id"].astype("str").to_numpy())
    engine = _Engine(events, rep_ids, start, as_of)
    references: dict[tuple[int, int, bytes], _Reference] = {}
    rows = []
    for tr in trainings.sort_values(["completed_at", "rep_id"]).itertuples(index=False):
        t = pd.Timestamp(tr.completed_at)
        day = t.normalize()
        i = int(np.flatnonzero(rep_ids == tr.rep_id)[0]) if tr.rep_id in rep_ids else -1
        length = int(min(window, (engine.end - day) / _DAY, (day - engine.start) / _DAY))
        row = {"rep_id": tr.rep_id, "team": teams[i] if i >= 0 else "", "competency": tr.competency,
               "metric": COMPETENCY_METRICS[tr.competency][0], "completed_at": t, "window_days": max(length, 0),
               "effect_unit": "relative" if relative else "rate points", "controls": "", "control_pool": "",
               "n_placebos": 0, "pre_trend_check": "not_checked"}
        notes: list[str] = []
        if i < 0:
            rows.append(row | {"verdict": "insufficient_data", "warning": f"{tr.rep_id} is not in the reps table",
                               "sentence": f"{tr.rep_id} is not in the reps table."})
            continue
        if length < window:
            notes.append(f"the data holds only {max(length, 0)} days on one side of the training: windows cut to that")
        if length < MIN_WINDOW_DAYS:
            notes.append(f"windows shorter than {MIN_WINDOW_DAYS} days")
            rows.append(row | {"verdict": "insufficient_data", "warning": "; ".join(notes),
                               "sentence": _sentence(row, "insufficient_data", notes, relative, trial_name)})
            continue
        lo, hi = day - length * _DAY, day + length * _DAY
        trained_before_end = set(trained.loc[pd.to_datetime(trained["completed_at"]) < hi, "rep_id"].astype("str"))
        if placebo:
            trained_before_end = set(trained_before_end) | {tr.rep_id}
        eligible = ~np.isin(rep_ids, list(trained_before_end)) & ~(hire_arr >= lo.to_datetime64())
        eligible[i] = False
        pieces, labels = engine.exact_pieces(t, length)
        lv = _levels(pieces, labels, kind, eligible | (np.arange(len(rep_ids)) == i), teams)
        cand = np.flatnonzero(eligible & _usable(lv))
        row |= {"rep_before": lv.before[i], "rep_after": lv.after[i], "rep_n_before": int(lv.n_before[i]),
                "rep_n_after": int(lv.n_after[i])}
        controls, valid, fell_back = _matched(np.array([i]), cand, teams, lv.before, s.training_controls,
                                              s.training_min_team_controls)
        c = controls[0][valid[0]]
        fell_back = bool(fell_back[0])
        row |= {"n_control_reps": len(c), "controls": ", ".join(rep_ids[c]),
                "control_pool": "floor" if fell_back else "team"}
        if fell_back and len(c):
            notes.append(f"fewer than {s.training_min_team_controls} untrained reps in team {teams[i]}: "
                         "controls from the whole floor")
        too_few = min(lv.n_before[i], lv.n_after[i]) < min_size
        if too_few:
            notes.append(f"too few {trial_name}: {int(lv.n_before[i])} before, {int(lv.n_after[i])} after "
                         f"(fewer than {min_size})")
        if len(c) == 0:
            notes.append("no untrained rep to compare with")
            rows.append(row | {"verdict": "insufficient_data", "warning": "; ".join(notes),
                               "sentence": _sentence(row, "insufficient_data", notes, relative, trial_name)})
            continue
        effect, se, pre, se_pre = (float(v[0]) for v in _did(lv, np.array([i]), controls[:, :len(c)], valid[:, :len(c)]))
        row |= {"control_before": float(np.mean(lv.before[c])), "control_after": float(np.mean(lv.after[c]))}
        phase = int((day - engine.start) / _DAY) % 7
        pool = ~ever  # a placebo's own rep stays: the observed statistic is one of the permutations
        key = (length, phase, pool.tobytes())
        if key not in references:
            references[key] = _reference(engine, kind, pool, teams, hire_arr, length, phase, min_size,
                                         s.training_controls, s.training_min_team_controls)
        ref = references[key]
        q, q_pre = _critical(ref.t, confidence), _critical(ref.t_pre, confidence)
        n_ref = int(np.isfinite(ref.t).sum())
        row["n_placebos"] = n_ref
        low, high = effect - q * se, effect + q * se
        t_obs = effect / se if se > 0 else np.nan
        p_value = (1 + np.sum(np.abs(ref.t[np.isfinite(ref.t)]) >= abs(t_obs))) / (n_ref + 1) if np.isfinite(t_obs) else np.nan
        row |= {"effect": effect, "ci_low": low, "ci_high": high, "p_value": p_value}
        if np.isfinite(pre):
            row["pre_trend"] = pre
        if np.isfinite(pre) and np.isfinite(q_pre):
            pl, ph = pre - q_pre * se_pre, pre + q_pre * se_pre
            row |= {"pre_trend_low": pl, "pre_trend_high": ph,
                    "pre_trend_check": "failed" if (pl > 0 or ph < 0) else "passed"}
        if not np.isfinite(q) and not too_few:
            notes.append(f"only {n_ref} placebo trainings to calibrate the interval (need "
                         f"{ceil(1 / (1 - confidence)) - 1})")
        if too_few or not np.isfinite(q) or not np.isfinite(effect):
            verdict = "insufficient_data"
        elif row["pre_trend_check"] == "failed":
            verdict = "pre_trend_failed"
        elif low > 0:
            verdict = "improved"
        elif high < 0:
            verdict = "worse"
        else:
            verdict = "no_clear_change"
        if relative:
            for col in ("effect", "ci_low", "ci_high", "pre_trend", "pre_trend_low", "pre_trend_high"):
                if col in row:
                    row[col] = float(np.expm1(row[col]))
            for col in ("rep_before", "rep_after", "control_before", "control_after"):
                row[col] = float(np.exp(row[col]))
        rows.append(row | {"verdict": verdict, "warning": "; ".join(notes),
                           "sentence": _sentence(row, verdict, notes, relative, trial_name)})
    out = pd.DataFrame(rows, columns=list(_COLUMNS))
    out = out.fillna({"rep_n_before": 0, "rep_n_after": 0, "n_control_reps": 0, "n_placebos": 0, "warning": "",
                      "controls": "", "control_pool": "", "pre_trend_check": "not_checked"})
    return out.astype(_COLUMNS).reset_index(drop=True)


def _sentence(row: dict, verdict: str, notes: list[str], relative: bool, trial_name: str) -> str:
    """One plain sentence per training."""
    who = f"{row['rep_id']} ({row['competency']}, trained {pd.Timestamp(row['completed_at']).date()})"
    if verdict == "insufficient_data" and "effect" not in row:
        return f"{who}: insufficient data to tell ({'; '.join(notes)})."
    unit = "" if not relative else " (geometric mean deal size)"
    before = _fmt(row.get("rep_before", np.nan), relative)
    after = _fmt(row.get("rep_after", np.nan), relative)
    text = (f"{who}: {before} → {after}{unit} over {row['window_days']} days each side "
            f"({row.get('rep_n_before', 0)} and {row.get('rep_n_after', 0)} {trial_name}); "
            f"{row['n_control_reps']} matched untrained reps ({row['control_pool']}) moved "
            f"{_fmt(row.get('control_before', np.nan), relative)} → {_fmt(row.get('control_after', np.nan), relative)}")
    if verdict == "insufficient_data":
        return f"{text}. Insufficient data to tell: {'; '.join(notes)}."
    text += (f". Effect {_fmt(row['effect'], relative, True)} (interval {_fmt(row['ci_low'], relative, True)} to "
             f"{_fmt(row['ci_high'], relative, True)}, calibrated on {row['n_placebos']} placebo trainings)")
    words = {"improved": "improved more than comparable untrained reps",
             "worse": "got worse compared with comparable untrained reps",
             "no_clear_change": "no clear change: the data cannot tell this effect from none",
             "pre_trend_failed": "not trusted: the pre-trend check failed"}
    text += f": {words[verdict]}."
    if row["pre_trend_check"] == "failed":
        text += (f" Before the training the rep was already moving apart from the controls (pre-trend "
                 f"{_fmt(row['pre_trend'], relative, True)}, interval {_fmt(row['pre_trend_low'], relative, True)} to "
                 f"{_fmt(row['pre_trend_high'], relative, True)}), so the before-after comparison is not reliable.")
    elif row["pre_trend_check"] == "passed":
        text += (f" Pre-trend check passed ({_fmt(row['pre_trend'], relative, True)}, interval "
                 f"{_fmt(row['pre_trend_low'], relative, True)} to {_fmt(row['pre_trend_high'], relative, True)}).")
    else:
        text += " Pre-trend not checked (no trials in a half of the before window)."
    return text


# ---------------------------------------------------------------------------------------
# on a dataset


def _data_start(dataset: Dataset) -> pd.Timestamp:
    """The first day the data covers: the activity log's first day, else the first deal's creation."""
    if dataset.has("activities"):
        first = dataset.activities.occurred_at.min().execute()
        if first is not None and not pd.isna(first):
            return pd.Timestamp(first).normalize()
    created = dataset.opportunities["created_at"]
    return pd.Timestamp(created.min()).normalize() if len(created) else dataset.as_of.normalize()


def training_effects(
    dataset: Dataset,
    settings: Settings | None = None,
    weeks: int | None = None,
    confidence: float = 0.95,
    placebos: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The effect of each training on its competency, against matched untrained reps, with
    an interval and a pre-trend check calibrated on placebo trainings.

    The method is :func:`effects_from_events` (formulas there) on the events of
    :func:`competency_events`; windows are cut to the data (the activity log's first day to
    ``dataset.as_of``).

    Parameters
    ----------
    dataset
        The data; needs ``trainings`` (and activities for the three activity ratios).
    settings
        The settings (the packaged defaults when ``None``); the ``[training]`` section.
    weeks
        Overrides ``[training] window_weeks``.
    confidence
        Two-sided coverage of the intervals.
    placebos
        Measure these made-up trainings (``rep_id``, ``competency``, ``completed_at``, e.g.
        from :func:`placebo_trainings`) instead of the real ones: each is measured as if it
        were the only extra training (its rep is left out of its own controls and
        placebos), the real trainings staying excluded. The share of placebos called
        ``improved`` or ``worse`` is the false-alarm rate on this data.

    Returns
    -------
    pandas.DataFrame
        One row per training: ``rep_id``, ``team``, ``competency``, ``metric``,
        ``completed_at``, ``window_days`` (each side), ``rep_before``, ``rep_after``,
        ``rep_n_before``, ``rep_n_after`` (trials), ``control_before``, ``control_after``
        (mean of the controls' levels), ``n_control_reps``, ``controls`` (their ids),
        ``control_pool`` (``team`` or ``floor``), ``effect``, ``ci_low``, ``ci_high``,
        ``p_value``, ``pre_trend``, ``pre_trend_low``, ``pre_trend_high``,
        ``pre_trend_check`` (``passed``, ``failed``, ``not_checked``), ``n_placebos`` (the
        placebo trainings the intervals are calibrated on), ``effect_unit`` (``rate points``
        or ``relative``), ``verdict`` (one of :data:`VERDICTS`), ``sentence``, ``warning``.

    Raises
    ------
    MissingTableError
        If the dataset has no trainings table (or no activities for an activity ratio).
    """
    dataset.require("trainings")
    real = dataset.table("trainings")
    todo = real if placebos is None else placebos
    todo = todo.sort_values(["completed_at", "rep_id"])
    start = _data_start(dataset)
    activity_counts = None
    parts = []
    for name in COMPETENCY_METRICS:
        these = todo.loc[todo["competency"] == name]
        if these.empty:
            continue
        metric, trial_name = COMPETENCY_METRICS[name]
        if metric in competency.ACTIVITY_METRICS:
            if activity_counts is None:
                dataset.require("activities")
                activity_counts = _activity_day_counts(dataset, todo["completed_at"])
            events = _tidy_events(_rate_events(activity_counts, metric))
        else:
            events = competency_events(dataset, name)
        part = effects_from_events(events, dataset.reps, these, kind="log" if name == "deal_size" else "rate",
                                   start=start, as_of=dataset.as_of, settings=settings, weeks=weeks,
                                   confidence=confidence, trained=real, placebo=placebos is not None,
                                   trial_name=trial_name)
        if name == "win_rate":
            part = _open_deal_warnings(dataset, part)
        parts.append(part)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in _COLUMNS.items()})
    out = pd.concat(parts, ignore_index=True).sort_values(["completed_at", "rep_id", "competency"], kind="stable")
    return out.astype(_COLUMNS).reset_index(drop=True)


def _open_deal_warnings(dataset: Dataset, part: pd.DataFrame) -> pd.DataFrame:
    """Warn where 20% or more of the rep's deals created in the after window are still open."""
    o = dataset.opportunities
    warnings = []
    for row in part.itertuples(index=False):
        day = pd.Timestamp(row.completed_at).normalize()
        mine = o.loc[(o["rep_id"] == row.rep_id) & (o["created_at"] >= row.completed_at)
                     & (o["created_at"] < day + row.window_days * _DAY)]
        still_open = int((mine["status"] == "open").sum())
        w = row.warning
        if still_open and still_open >= 0.2 * len(mine):
            w = "; ".join(x for x in (w, f"{still_open} of the rep's deals created after the training are still open") if x)
        warnings.append(w)
    return part.assign(warning=pd.Series(warnings, index=part.index, dtype="str"))


def placebo_trainings(
    dataset: Dataset,
    dates: Iterable[pd.Timestamp] | None = None,
    competencies: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Made-up trainings of reps who were never trained: every such rep × date × competency.

    A placebo has no effect by construction, so measured with ``training_effects(dataset,
    placebos=...)`` it should be ``improved`` or ``worse`` in about ``1 − confidence`` of
    cases; more means the intervals are too narrow on this data.

    Parameters
    ----------
    dataset
        The data; needs ``trainings``.
    dates
        Placebo completion times; the real trainings' times when ``None``.
    competencies
        The competencies; all five when ``None``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``competency``, ``completed_at``.
    """
    real = dataset.table("trainings")
    when = sorted({pd.Timestamp(d) for d in (real["completed_at"] if dates is None else dates)})
    names = list(COMPETENCY_METRICS if competencies is None else competencies)
    reps = [r for r in dataset.reps["rep_id"].astype("str") if r not in set(real["rep_id"].astype("str"))]
    rows = [(r, c, d) for d in when for r in reps for c in names]
    return pd.DataFrame(rows, columns=["rep_id", "competency", "completed_at"]).astype(
        {"rep_id": "str", "competency": "str", "completed_at": "datetime64[us]"})
