"""Training effect: did the trained competency improve, compared with reps who were not trained (principle 3)?

For each row of the ``trainings`` table, :func:`training_effects` compares the trained
competency of the trained rep over equal windows before and after ``completed_at``
(``training_window_weeks`` each) and subtracts the change of the untrained reps over the
same windows: a difference in differences, with a 95% normal-approximation interval from
the binomial counts (or, for the deal size, from the spread of the log amounts). A row
whose samples are too small to tell says so in ``warning``.

How each competency is measured in a window ``[lo, hi)``:

* ``connect_rate``, ``conversation_to_appointment``, ``appointment_to_opportunity``: the
  funnel counts of :func:`salesx2lib.competency.rep_counts` over the window (activities
  by their timestamp), successes capped at trials as in the funnel;
* ``win_rate``: won / (won + lost) of the deals **created** in the window (a training
  changes how deals created after it are worked, so deals are grouped by creation, not by
  close date as in the funnel); deals still open are left out and counted;
* ``deal_size``: the won deals created in the window, compared on the log of their amount,
  so the effect is relative (0.25 = 25% larger deals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from salesx2lib import competency, periods
from salesx2lib.dataset import Dataset
from salesx2lib.settings import Settings, load_settings
from salesx2lib.stats import z_score

__all__ = ["COMPETENCY_METRICS", "training_effects"]

#: The measure of each training competency (schema.COMPETENCIES) and what its trials are called.
COMPETENCY_METRICS: dict[str, tuple[str, str]] = {
    "connect_rate": ("connect_rate", "dials"),
    "conversation_to_appointment": ("conversation_to_appointment", "conversations"),
    "appointment_to_opportunity": ("appointment_to_opportunity", "prospect appointments"),
    "win_rate": ("win_rate", "decided deals"),
    "deal_size": ("avg_deal_size", "won deals"),
}

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
    "effect": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "effect_unit": "str",
    "significant": "bool",
    "warning": "str",
}


def _rate_counts(dataset: Dataset, metric: str, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """Per rep successes ``x`` and trials ``n`` of ``metric`` in ``[lo, hi)``."""
    if metric == "win_rate":
        o = dataset.opportunities
        o = o.loc[(o["created_at"] >= lo) & (o["created_at"] < hi)]
        g = o.groupby("rep_id")["status"]
        out = pd.DataFrame({"x": g.apply(lambda s: (s == "won").sum()), "n": g.apply(lambda s: s.isin(["won", "lost"]).sum()),
                            "open": g.apply(lambda s: (s == "open").sum())})
        return out.reindex(dataset.reps["rep_id"], fill_value=0).astype("int64")
    counts = competency.rep_counts(dataset, lo, hi).set_index("rep_id")
    num, dens = competency.FUNNEL_METRICS[metric]
    n = counts[list(dens)].sum(axis=1)
    return pd.DataFrame({"x": np.minimum(counts[num], n), "n": n, "open": 0}).astype("int64")


def _log_amounts(dataset: Dataset, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """The log amounts of won deals created in ``[lo, hi)``: ``rep_id``, ``log_amount``."""
    o = dataset.opportunities
    o = o.loc[(o["status"] == "won") & (o["created_at"] >= lo) & (o["created_at"] < hi) & (o["amount"] > 0)]
    return pd.DataFrame({"rep_id": o["rep_id"], "log_amount": np.log(o["amount"].to_numpy(dtype="float64"))})


def _rate_effect(rep_b, rep_a, ctl_b, ctl_a, z):
    """DiD of proportions and its normal-approximation interval; each argument is ``(x, n)``."""
    p = [x / n if n > 0 else np.nan for x, n in (rep_b, rep_a, ctl_b, ctl_a)]
    var = sum(pi * (1 - pi) / n for pi, (_, n) in zip(p, (rep_b, rep_a, ctl_b, ctl_a), strict=True) if n > 0)
    effect = (p[1] - p[0]) - (p[3] - p[2])
    half = z * np.sqrt(var)
    return p, effect, effect - half, effect + half


def _welch_half_width(samples, variances, confidence: float) -> float:
    """Half-width ``t_df * sqrt(V)`` with ``V = sum v_i`` and the Welch-Satterthwaite
    ``df = V^2 / sum(v_i^2 / (n_i - 1))``: a handful of deals gets a wide interval."""
    v = np.asarray(variances, dtype="float64")
    n = np.array([len(x) for x in samples], dtype="float64")
    total = v.sum()
    if not np.isfinite(total):
        return np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        df = total**2 / np.sum(v**2 / (n - 1))
    q = float(sps.t.ppf(0.5 + confidence / 2, df)) if np.isfinite(df) and df > 0 else z_score(confidence)
    return q * np.sqrt(total)


def _mean_var(values: np.ndarray) -> tuple[float, float]:
    if len(values) < 2:
        return (float(values.mean()) if len(values) else np.nan), np.nan
    return float(values.mean()), float(values.var(ddof=1) / len(values))


def training_effects(
    dataset: Dataset, settings: Settings | None = None, weeks: int | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """The effect of each training on its competency: difference in differences with an interval.

    With ``t`` the completion time and ``W`` the window (``training_window_weeks``, cut
    to the data's end when the after window would pass it: the windows stay equal), the
    before window is ``[t - W, t)`` and the after window ``[t, t + W)``. For a rate
    (``p = x / n``)::

        effect = (p_rep_after - p_rep_before) - (p_ctl_after - p_ctl_before)
        var    = sum over the four rates of p (1 - p) / n
        ci     = effect -/+ z * sqrt(var)          (z = 1.96 for 95%)

    with the control rates pooled over the untrained reps (``sum x / sum n``). For the deal
    size the same is done on the mean log amount of won deals (``var = s^2 / n``), with a
    Student t quantile on the Welch-Satterthwaite degrees of freedom instead of ``z`` (a
    rep wins few deals in a window), and the effect and interval are reported as relative
    changes, ``exp(.) - 1``; ``rep_before`` and ``rep_after`` are then geometric mean deal
    sizes.

    Control reps: every other rep with no training completed before the end of the after
    window, hired (when ``hire_date`` is known) before the before window starts, and with
    trials in both windows. The normal approximation assumes independent trials; where a
    rep has fewer than ``training_min_trials`` trials in a window the ``warning`` says the
    sample is too small to tell.

    Parameters
    ----------
    dataset
        The data; needs ``trainings`` (and activities for the three activity ratios).
    settings
        The settings (the packaged defaults when ``None``).
    weeks
        Overrides ``training_window_weeks``.
    confidence
        Two-sided coverage of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per training: ``rep_id``, ``team``, ``competency``, ``metric``,
        ``completed_at``, ``window_days``, ``rep_before``, ``rep_after``, ``rep_n_before``,
        ``rep_n_after`` (trials), ``control_before``, ``control_after``,
        ``n_control_reps``, ``effect``, ``ci_low``, ``ci_high``, ``effect_unit``
        (``rate points`` or ``relative``), ``significant`` (the interval excludes 0),
        ``warning`` (empty when there is nothing to warn about).

    Raises
    ------
    MissingTableError
        If the dataset has no trainings table.
    """
    dataset.require("trainings")
    s = settings or load_settings()
    window = (weeks if weeks is not None else s.training_window_weeks) * periods.WEEK
    z = z_score(confidence)
    trainings = dataset.table("trainings").sort_values(["completed_at", "rep_id"])
    reps = dataset.reps.set_index("rep_id")
    hire = reps["hire_date"] if "hire_date" in reps.columns else pd.Series(pd.NaT, index=reps.index)
    rows = []
    for tr in trainings.itertuples(index=False):
        t = pd.Timestamp(tr.completed_at)
        metric, trial_name = COMPETENCY_METRICS[tr.competency]
        warnings = []
        length = window
        if t + length > dataset.as_of:
            length = max(dataset.as_of - t, pd.Timedelta(0))
            warnings.append(f"the data ends {length.days} days after the training: windows cut to {length.days} days")
        lo, hi = t - length, t + length
        row = {"rep_id": tr.rep_id, "team": reps["team"].get(tr.rep_id, ""), "competency": tr.competency,
               "metric": metric, "completed_at": t, "window_days": length.days,
               "effect_unit": "relative" if metric == "avg_deal_size" else "rate points"}
        trained_soon = trainings.loc[trainings["completed_at"] < hi, "rep_id"]
        eligible = reps.index[~reps.index.isin(trained_soon) & ~(hire >= lo).to_numpy()]
        if length <= pd.Timedelta(0):
            rows.append(row | {"warning": "; ".join(warnings)})
            continue
        if metric in competency.ACTIVITY_METRICS and not dataset.has("activities"):
            rows.append(row | {"warning": "needs the activities table, which this dataset does not have"})
            continue
        if metric == "avg_deal_size":
            before, after = _log_amounts(dataset, lo, t), _log_amounts(dataset, t, hi)
            rb = before.loc[before["rep_id"] == tr.rep_id, "log_amount"].to_numpy()
            ra = after.loc[after["rep_id"] == tr.rep_id, "log_amount"].to_numpy()
            ctl_ids = sorted(set(before["rep_id"]) & set(after["rep_id"]) & set(eligible))
            cb = before.loc[before["rep_id"].isin(ctl_ids), "log_amount"].to_numpy()
            ca = after.loc[after["rep_id"].isin(ctl_ids), "log_amount"].to_numpy()
            samples = (rb, ra, cb, ca)
            (mrb, vrb), (mra, vra), (mcb, vcb), (mca, vca) = map(_mean_var, samples)
            d = (mra - mrb) - (mca - mcb)
            half = _welch_half_width(samples, (vrb, vra, vcb, vca), confidence)
            row |= {"rep_before": np.exp(mrb), "rep_after": np.exp(mra), "rep_n_before": len(rb),
                    "rep_n_after": len(ra), "control_before": np.exp(mcb), "control_after": np.exp(mca),
                    "n_control_reps": len(ctl_ids), "effect": np.expm1(d),
                    "ci_low": np.expm1(d - half), "ci_high": np.expm1(d + half)}
        else:
            before, after = _rate_counts(dataset, metric, lo, t), _rate_counts(dataset, metric, t, hi)
            ctl = [r for r in eligible if before["n"].get(r, 0) > 0 and after["n"].get(r, 0) > 0]
            rep_b = (int(before["x"].get(tr.rep_id, 0)), int(before["n"].get(tr.rep_id, 0)))
            rep_a = (int(after["x"].get(tr.rep_id, 0)), int(after["n"].get(tr.rep_id, 0)))
            ctl_b = (int(before.loc[ctl, "x"].sum()), int(before.loc[ctl, "n"].sum()))
            ctl_a = (int(after.loc[ctl, "x"].sum()), int(after.loc[ctl, "n"].sum()))
            p, effect, low, high = _rate_effect(rep_b, rep_a, ctl_b, ctl_a, z)
            row |= {"rep_before": p[0], "rep_after": p[1], "rep_n_before": rep_b[1], "rep_n_after": rep_a[1],
                    "control_before": p[2], "control_after": p[3], "n_control_reps": len(ctl),
                    "effect": effect, "ci_low": low, "ci_high": high}
            still_open = int(after["open"].get(tr.rep_id, 0))
            if still_open and still_open >= 0.2 * (still_open + rep_a[1]):
                warnings.append(f"{still_open} of the rep's deals created after the training are still open")
        if min(row["rep_n_before"], row["rep_n_after"]) < s.training_min_trials:
            warnings.append(
                f"too few {trial_name} to tell: {row['rep_n_before']} before, {row['rep_n_after']} after "
                f"(fewer than {s.training_min_trials})"
            )
        if row["n_control_reps"] == 0:
            warnings.append("no untrained rep to compare with")
        rows.append(row | {"warning": "; ".join(warnings)})
    out = pd.DataFrame(rows, columns=list(_COLUMNS))
    out = out.fillna({"rep_n_before": 0, "rep_n_after": 0, "n_control_reps": 0, "warning": ""})
    out["significant"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out.astype(_COLUMNS).reset_index(drop=True)
