"""Win-by-window-end probabilities, new business and forecast intervals, learned as of each date.

The rolling forecast asks, for every deal open at an instant ``D``: what is the chance it is
won with ``D < closed_at < day(D) + window_days``? This module answers with a logistic
regression fitted only on what was known at ``D``:

* **training rows** are the deals open at past Mondays ``M`` (the weekly grid) whose window
  was over by the fit date ``R``: ``day(M) + window_days <= R``, with ``M`` at most
  ``training_weeks`` weeks before ``R``. The label is ``won inside (M, day(M) + window)``;
  a loss, or a deal still open at the window's end, is a non-event (the loss is the
  competing outcome: a deal lost in the window can no longer be won in it);
* **features** (all as of the row's own date): the open stage, ``log1p(age)`` with a slope
  per stage (``age_slope_per_stage``: how much waiting lowers a deal's chances depends on
  its stage; one shared slope made young late-stage deals overconfident),
  ``log1p(days in stage)``, close-date pushes, ``log1p(days since the last activity on the
  deal)`` and whether it never had one, ``log1p(amount)``, where the expected close date
  falls (in the window, already past, later, missing), the gate and the scrub flags
  (pushed, no recent activity, early stage in the window), and the logit of the rep's
  win rate shrunk toward the team's (empirical Bayes, :func:`rep_win_rates`);
* the **fit** is a logistic regression (statsmodels ``Logit``, Newton) on standardised
  features with a weak log-F(m, m) prior on every slope (Greenland's data augmentation:
  ``m`` pseudo-records per slope with value 1 and outcome 1/2), so rare categories cannot
  separate;
* the model is refitted every ``refit_weeks`` weeks on a calendar-anchored schedule: the
  model used at ``D`` is the one fitted at the latest anchor Monday ``R <= D``, so the
  backtest and a single forecast as of ``D`` agree exactly.

New business (deals not created yet) is a compound Poisson term per rep
(:func:`new_business_rates`), and :func:`simulate_totals` draws both to give the 80%
interval. Nothing recorded after ``D`` enters anything computed as of ``D``:
``tests/test_winprob.py`` and ``tests/test_rolling.py`` rewrite the future and check it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import ibis
import numpy as np
import pandas as pd
import statsmodels.api as sm

from salesx2lib.dataset import Dataset
from salesx2lib.pipeline import ALL, prepare_history, snapshots
from salesx2lib.scrub import gate
from salesx2lib.settings import Settings
from salesx2lib.stats import beta_prior_from_sums, wilson_interval

__all__ = [
    "CLOSE_POSITIONS",
    "FEATURE_GROUPS",
    "WinModel",
    "deal_frame",
    "design_matrix",
    "fit_win_model",
    "model_schedule",
    "new_business_rates",
    "predict",
    "reliability_table",
    "rep_win_rates",
    "simulate_totals",
    "training_mondays",
    "win_probabilities",
]

_US = "datetime64[us]"
_DAY = pd.Timedelta(days=1)
_WEEK = pd.Timedelta(days=7)
_TICK = pd.Timedelta(microseconds=1)
#: Anchor of the refit calendar: a Monday; refits happen on Mondays ``anchor + k * refit_weeks``.
_ANCHOR = pd.Timestamp("2000-01-03")
_MAX_PUSHES = 5

#: Feature groups: the words the reasons use, and the design-matrix columns of each group.
FEATURE_GROUPS: dict[str, str] = {
    "stage": "stage",
    "log_age": "age",
    "log_days_in_stage": "days in stage",
    "pushes": "close-date pushes",
    "flag_pushed": "close-date pushes",
    "log_days_since_activity": "days since last activity",
    "never_active": "days since last activity",
    "flag_no_recent_activity": "days since last activity",
    "log_amount": "amount",
    "amount_missing": "amount",
    "close": "expected close date",
    "flag_early_stage_in_window": "early stage in the window",
    "passes_gate": "gate",
    "rep_logit": "rep's win rate",
}


def _dates(dates: Sequence[pd.Timestamp | str] | pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    idx = pd.DatetimeIndex([pd.Timestamp(d) for d in dates])
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return np.unique(idx.as_unit("us").to_numpy())


def model_schedule(dates: np.ndarray, settings: Settings) -> np.ndarray:
    """The fit date ``R`` of the model used at each date ``D``.

    ``R = the latest Monday 00:00 <= D with (R - 2000-01-03) / 7 days divisible by
    refit_weeks``.
    """
    d = pd.DatetimeIndex(dates)
    weeks = ((d.normalize() - _ANCHOR) // _WEEK).to_numpy().astype("int64")
    k = max(int(settings.forecast_refit_weeks), 1)
    fit_week = weeks - np.mod(weeks, k)
    return (_ANCHOR + pd.to_timedelta(fit_week * 7, unit="D")).as_unit("us").to_numpy()


def training_mondays(fit_date: pd.Timestamp, settings: Settings) -> pd.DatetimeIndex:
    """The Mondays whose window outcome trains the model fitted at ``fit_date``.

    ``M`` Monday 00:00 with ``M + window_days <= fit_date`` and
    ``M >= fit_date - training_weeks weeks``.
    """
    fit_date = pd.Timestamp(fit_date)
    hi = fit_date - pd.Timedelta(days=settings.forecast_window_days)
    lo = fit_date - settings.forecast_training_weeks * _WEEK
    return pd.date_range(lo.normalize(), hi, freq="W-MON").as_unit("us")


# -- inputs known at a date ---------------------------------------------------------------------


def _won_amount_known(opportunities: pd.DataFrame, prepared: pd.DataFrame) -> np.ndarray:
    """Each won deal's amount as recorded at its close (history row at or before closed_at).

    Deals without such a row take the current amount. NaN for deals not won.
    """
    won = ((opportunities["status"] == "won") & opportunities["closed_at"].notna()).to_numpy()
    out = np.full(len(opportunities), np.nan)
    current = opportunities["amount"].to_numpy(dtype="float64", na_value=np.nan)
    out[won] = current[won]
    idx = np.flatnonzero(won)
    if len(idx) and len(prepared):
        q = pd.DataFrame({"t": opportunities["closed_at"].to_numpy(dtype=_US)[idx].view("int64"), "opp_index": idx})
        q = q.sort_values("t", kind="stable")
        h_t = prepared["changed_at"].to_numpy(dtype=_US).view("int64")
        perm = np.argsort(h_t, kind="stable")
        right = pd.DataFrame({"t": h_t[perm], "opp_index": prepared["opp_index"].to_numpy()[perm], "amount": prepared["amount"].to_numpy()[perm]})
        m = pd.merge_asof(q, right, on="t", by="opp_index", direction="backward")
        got = m["amount"].to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(got)
        out[m["opp_index"].to_numpy()[ok]] = got[ok]
    return out


def rep_win_rates(opportunities: pd.DataFrame, reps: pd.DataFrame, dates: np.ndarray) -> pd.DataFrame:
    """Each rep's win rate at each date, shrunk toward the rep's team (empirical Bayes).

    Over deals decided by ``D`` (``closed_at <= D``): ``n_decided``, ``n_won``;
    ``win_rate_shrunk = (n_won + alpha) / (n_decided + alpha + beta)`` with the team's
    method-of-moments beta prior at ``D`` (:func:`salesx2lib.stats.beta_prior_from_sums`
    over the team's reps with decided deals).

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``rep_id``, ``team``, ``n_decided``, ``n_won`` (int64),
        ``win_rate_shrunk`` (float).
    """
    d = _dates(dates)
    rep_ids = reps["rep_id"].astype("str").to_numpy()
    teams = reps["team"].astype("str").to_numpy()
    decided = (opportunities["status"].isin(["won", "lost"]) & opportunities["closed_at"].notna()).to_numpy()
    code = pd.Index(rep_ids).get_indexer(opportunities["rep_id"].astype("str"))
    keep = decided & (code >= 0)
    t = opportunities["closed_at"].to_numpy(dtype=_US)[keep].view("int64")
    c = code[keep].astype("int64")
    w = (opportunities["status"] == "won").to_numpy()[keep].astype("int64")
    key = c * (1 << 52) + t
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    cum = np.r_[0, np.cumsum(w)]
    grid_rep = np.tile(np.arange(len(rep_ids)), len(d))
    grid_t = np.repeat(d.view("int64"), len(rep_ids))
    hi = np.searchsorted(key, grid_rep * (1 << 52) + grid_t, side="right")
    lo = np.searchsorted(key, grid_rep * (1 << 52), side="left")
    n = (hi - lo).astype("int64")
    x = (cum[hi] - cum[lo]).astype("int64")
    out = pd.DataFrame({"as_of_date": np.repeat(d, len(rep_ids)), "rep_id": rep_ids[grid_rep], "team": teams[grid_rep], "n_decided": n, "n_won": x})
    used = out.loc[out["n_decided"] > 0]
    sums = used.assign(
        k=1, q=used["n_won"] ** 2 / used["n_decided"], s=used["n_decided"] ** 2
    ).groupby(["as_of_date", "team"]).agg(k=("k", "sum"), big_n=("n_decided", "sum"), big_x=("n_won", "sum"), q=("q", "sum"), s=("s", "sum"))
    out = out.merge(sums.reset_index(), on=["as_of_date", "team"], how="left")
    filled = out[["k", "big_n", "big_x", "q", "s"]].fillna(0.0)
    alpha, beta, _ = beta_prior_from_sums(filled["k"], filled["big_n"], filled["big_x"], filled["q"], filled["s"])
    out["win_rate_shrunk"] = (out["n_won"] + alpha) / (out["n_decided"] + alpha + beta)
    out = out[["as_of_date", "rep_id", "team", "n_decided", "n_won", "win_rate_shrunk"]]
    return out.astype({"as_of_date": _US, "rep_id": "str", "team": "str"})


def _last_activity(dataset: Dataset, instants: np.ndarray) -> pd.DataFrame:
    """Per (deal, instant): the latest activity on the deal at or before the instant.

    Computed in the engine: each activity goes to the first instant at or after it
    (a CASE over the sorted instants), ``max(occurred_at)`` per (deal, bucket) comes back;
    the latest non-empty bucket at or before an instant holds its answer.

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id`` (str), ``bucket`` (int64, index into ``instants``),
        ``last_activity_at``.
    """
    t = dataset.activities
    inst = [pd.Timestamp(x).to_pydatetime() for x in instants]
    t = t.filter(t.opportunity_id.notnull(), t.occurred_at <= inst[-1])
    branches = [(t.occurred_at <= x, i) for i, x in enumerate(inst)]
    bucket = ibis.cases(*branches, else_=len(inst))
    expr = t.mutate(bucket=bucket).group_by(["opportunity_id", "bucket"]).aggregate(last_activity_at=t.occurred_at.max())
    out = expr.to_pandas()
    return out.astype({"opportunity_id": "str", "bucket": "int64", "last_activity_at": _US})


#: Where the expected close date falls relative to the window (``close_position``).
CLOSE_POSITIONS: tuple[str, ...] = ("in_window", "past", "later", "missing")


def _gate(snap: pd.DataFrame, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """:func:`salesx2lib.scrub.gate` of each row, evaluated once per (stage, missing fields) combination."""
    fields = [f for f in settings.gate_required_fields if f in snap.columns]
    stage_code, stage_names = pd.factorize(snap["stage"], use_na_sentinel=True)
    key = stage_code.astype("int64") + 1
    for i, f in enumerate(fields):
        key = key + (snap[f].isna().to_numpy().astype("int64") << (32 + i))
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    small = snap.iloc[first].reset_index(drop=True)
    g = gate(small, settings)  # raises on a required field the table lacks, as before
    rcode, rnames = pd.factorize(g["gate_reason"])
    reason = pd.Categorical.from_codes(rcode[inverse], categories=list(rnames))
    return g["passes_gate"].to_numpy()[inverse], reason


def deal_frame(
    dataset: Dataset,
    dates: np.ndarray,
    settings: Settings,
    prepared: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every deal open at each date, with its raw features as of that date and its label.

    Features (as of the row's ``as_of_date`` ``D``, nothing later): ``stage``,
    ``age_days = D - created_at``, ``days_in_stage = D - stage_entered_at``,
    ``n_pushes``, ``days_since_activity = D - last activity on the deal at or before D``
    (NaN if none; the column is absent without an activity log), ``amount``,
    ``close_position`` (``in_window`` when ``day(D) <= expected_close_date < day(D) +
    window``, ``past``, ``later`` or ``missing``), ``passes_gate`` and ``gate_reason``
    (:func:`salesx2lib.scrub.gate`), ``flag_pushed``, ``flag_no_recent_activity``,
    ``flag_early_stage_in_window`` (the scrub's rules), ``rep_win_rate`` (shrunk, as of D).

    Labels (known once the window is over): ``won_in_window`` (won with
    ``D < closed_at < day(D) + window``), ``outcome_by`` (``day(D) + window``, exclusive: the label is known from then on),
    ``won_amount`` (amount recorded at the win, for the amount ratio).

    Returns
    -------
    pandas.DataFrame
        One row per (date, open deal): ``as_of_date``, ``opp_index``, ``opportunity_id``,
        ``rep_id``, ``team``, the features and the labels.
    """
    dataset.require("opportunity_history")
    opps = dataset.opportunities
    hist = dataset.table("opportunity_history")
    h = prepare_history(opps, hist) if prepared is None else prepared
    d = _dates(dates)
    snap = snapshots(opps.assign(_row=np.arange(len(opps))), hist, d, open_only=True, prepared=h)
    pos = snap["_row"].to_numpy(dtype="int64")  # the deal's row in opportunities
    when = snap["as_of_date"]
    day = when.dt.normalize()
    window = pd.Timedelta(days=settings.forecast_window_days)
    ecd = snap["expected_close_date"]
    code = np.select(
        [ecd.isna().to_numpy(), (ecd < day).fillna(False).to_numpy(), (ecd >= day + window).fillna(False).to_numpy()],
        [3, 1, 2],
        0,
    )
    position = pd.Categorical.from_codes(code, categories=list(CLOSE_POSITIONS))
    closed_at = opps["closed_at"].to_numpy(dtype=_US)[pos]
    won_now = (opps["status"] == "won").to_numpy()[pos]
    end = (day + window).to_numpy(dtype=_US)
    won_in = won_now & ~np.isnat(closed_at) & (closed_at > when.to_numpy(dtype=_US)) & (closed_at < end)
    team_of_deal = opps["rep_id"].map(dataset.reps.set_index("rep_id")["team"]).astype("str")
    frame = pd.DataFrame(
        {
            "as_of_date": when.to_numpy(dtype=_US),
            "opp_index": pos.astype("int64"),
            "opportunity_id": snap["opportunity_id"].astype("str"),
            "rep_id": snap["rep_id"].astype("str"),
            "team": team_of_deal.take(pos).reset_index(drop=True),
            "stage": snap["stage"].astype("str"),
            "amount": snap["amount"].to_numpy(dtype="float64", na_value=np.nan),
            "expected_close_date": ecd.to_numpy(dtype=_US),
            "created_at": snap["created_at"].to_numpy(dtype=_US),
            "age_days": ((when - snap["created_at"]) / _DAY).to_numpy(dtype="float64"),
            "days_in_stage": ((when - snap["stage_entered_at"]) / _DAY).to_numpy(dtype="float64", na_value=np.nan),
            "n_pushes": snap["n_pushes"].to_numpy(dtype="float64", na_value=np.nan),
            "close_position": position,
        },
        index=snap.index,
    ).reset_index(drop=True)
    passes, reason = _gate(snap, settings)
    frame["passes_gate"] = passes
    frame["gate_reason"] = reason
    frame["flag_pushed"] = (frame["n_pushes"] >= settings.scrub_push_threshold).to_numpy()
    frame["flag_early_stage_in_window"] = frame["stage"].isin(settings.scrub_early_stages).to_numpy() & (code == 0)
    if dataset.has("activities") and len(d):
        last = _last_activity(dataset, d)
        last_pos = pd.Index(opps["opportunity_id"].astype("str")).get_indexer(last["opportunity_id"])
        right = pd.DataFrame({"bucket": last["bucket"].to_numpy(), "opp_index": last_pos, "last": last["last_activity_at"].to_numpy(dtype=_US)})
        right = right.loc[right["opp_index"] >= 0].sort_values("bucket", kind="stable")
        left = pd.DataFrame({"bucket": np.searchsorted(d, frame["as_of_date"].to_numpy(dtype=_US)).astype("int64"), "opp_index": frame["opp_index"].to_numpy(), "row": np.arange(len(frame))})
        left = left.sort_values("bucket", kind="stable")
        m = pd.merge_asof(left, right, on="bucket", by="opp_index", direction="backward").sort_values("row")
        last_at = m["last"].to_numpy(dtype=_US)
        frame["last_activity_at"] = last_at
        since = (frame["as_of_date"].to_numpy(dtype=_US) - last_at) / np.timedelta64(1, "D")
        frame["days_since_activity"] = since.astype("float64")
        stale = settings.scrub_stale_activity_days
        quiet = np.isnan(since) | (since > stale)
        frame["flag_no_recent_activity"] = quiet & (frame["age_days"].to_numpy() > stale)
    rates = rep_win_rates(opps, dataset.reps, d)
    frame = frame.merge(rates[["as_of_date", "rep_id", "win_rate_shrunk"]].rename(columns={"win_rate_shrunk": "rep_win_rate"}), on=["as_of_date", "rep_id"], how="left")
    frame["won_in_window"] = won_in
    frame["outcome_by"] = end
    won_amount = _won_amount_known(opps, h)[pos]
    frame["won_amount"] = np.where(won_in, won_amount, np.nan)
    return frame


# -- the model ----------------------------------------------------------------------------------


def design_matrix(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The model's numeric inputs for each row of :func:`deal_frame` (no intercept).

    ``stage_<s>`` (one column per open stage after the first; unknown stage ->
    ``stage_unknown``), ``log_age = log1p(age_days)``, ``log_days_in_stage = log1p(days in
    stage)`` (0 when unknown), ``age_x_<s> = (log_age - log1p(window_days)) * stage_<s>``
    (one per open stage after the first, with ``age_slope_per_stage``: each stage's own age
    slope, centred at an age of one window), ``pushes = min(n_pushes, 5)``, ``flag_pushed``,
    ``log_days_since_activity = log1p(days)`` and ``never_active`` (only with activities),
    ``flag_no_recent_activity``, ``log_amount = log1p(amount)`` (0 and ``amount_missing``
    when missing), ``close_past``, ``close_later``, ``close_missing`` (in the window is the
    reference), ``flag_early_stage_in_window``, ``passes_gate``, ``rep_logit =
    logit(rep_win_rate)``.
    """
    cols: dict[str, np.ndarray] = {}
    stages = list(settings.stage_order)
    st = frame["stage"]
    for s in stages[1:]:
        cols[f"stage_{s}"] = st.eq(s).fillna(False).to_numpy(dtype="float64")
    cols["stage_unknown"] = (~st.isin(stages)).to_numpy(dtype="float64")
    cols["log_age"] = np.log1p(np.clip(frame["age_days"].to_numpy(dtype="float64"), 0, None))
    # the age slope per stage, centred at an age of one window: stage_<s> stays the stage's
    # effect at that age, so the stage and its age slope do not trade places
    pivot = np.log1p(float(settings.forecast_window_days))
    for s in stages[1:] if settings.forecast_age_slope_per_stage else ():
        cols[f"age_x_{s}"] = (cols["log_age"] - pivot) * cols[f"stage_{s}"]
    dis = frame["days_in_stage"].to_numpy(dtype="float64")
    cols["log_days_in_stage"] = np.where(np.isnan(dis), 0.0, np.log1p(np.clip(dis, 0, None)))
    pushes = frame["n_pushes"].to_numpy(dtype="float64")
    cols["pushes"] = np.where(np.isnan(pushes), 0.0, np.minimum(pushes, _MAX_PUSHES))
    cols["flag_pushed"] = frame["flag_pushed"].to_numpy(dtype="float64")
    if "days_since_activity" in frame.columns:
        since = frame["days_since_activity"].to_numpy(dtype="float64")
        cols["log_days_since_activity"] = np.where(np.isnan(since), 0.0, np.log1p(np.clip(since, 0, None)))
        cols["never_active"] = np.isnan(since).astype("float64")
        cols["flag_no_recent_activity"] = frame["flag_no_recent_activity"].to_numpy(dtype="float64")
    amount = frame["amount"].to_numpy(dtype="float64")
    cols["log_amount"] = np.where(np.isnan(amount), 0.0, np.log1p(np.clip(amount, 0, None)))
    cols["amount_missing"] = np.isnan(amount).astype("float64")
    pos = pd.Categorical(frame["close_position"], categories=list(CLOSE_POSITIONS)).codes
    for i, p in enumerate(CLOSE_POSITIONS[1:], start=1):
        cols[f"close_{p}"] = (pos == i).astype("float64")
    cols["flag_early_stage_in_window"] = frame["flag_early_stage_in_window"].to_numpy(dtype="float64")
    cols["passes_gate"] = frame["passes_gate"].to_numpy(dtype="float64")
    rate = np.clip(frame["rep_win_rate"].to_numpy(dtype="float64"), 1e-3, 1 - 1e-3)
    cols["rep_logit"] = np.where(np.isnan(rate), 0.0, np.log(rate / (1 - rate)))
    return pd.DataFrame(cols, index=frame.index)


def _group(column: str) -> str:
    if column.startswith("stage_"):
        return "stage"
    if column.startswith("close_"):
        return "close"
    if column.startswith("age_x_"):
        return "log_age"
    return column


@dataclass(frozen=True)
class WinModel:
    """A fitted win-by-window-end model (or its fallback), and what it was fitted on.

    Attributes
    ----------
    fit_date
        ``R``: only deals and outcomes known at ``R`` were used.
    columns
        The design-matrix columns used (constant ones are dropped).
    center, scale
        Standardisation of each column (training mean and standard deviation).
    params
        Intercept then one slope per column (on the standardised scale); empty for a
        fallback.
    base_rate
        Share of training rows won in their window (the fallback probability).
    kind
        ``model``, or ``none`` when the training rows hold fewer than
        ``min_training_events`` wins (or nothing but wins): too little history to learn
        from, and every probability is then NaN.
    n_rows, n_events
        Training rows and wins among them.
    ratios
        Won amount / listed amount of the training wins (for the amount uncertainty).
    team_shock_var
        ``sigma^2`` of the team-and-window common shock (see :func:`fit_win_model`).
    """

    fit_date: pd.Timestamp
    columns: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    params: np.ndarray
    base_rate: float
    kind: str
    n_rows: int
    n_events: int
    ratios: np.ndarray
    team_shock_var: float = 0.0

    @property
    def amount_ratio(self) -> float:
        """Mean won/listed amount ratio: the point forecast's amount factor (1 without data)."""
        return float(self.ratios.mean()) if len(self.ratios) else 1.0


def _row_keys(opportunity_ids: pd.Series, dates: np.ndarray) -> np.ndarray:
    """A deterministic, order-free pseudo-random key per (deal, date) row.

    ``splitmix64(hash(opportunity_id) xor date)``: the same row gets the same key whatever
    else the data holds, so a subsample never depends on row order or on later deals.
    """
    codes, uniq = pd.factorize(opportunity_ids)
    h = pd.util.hash_pandas_object(pd.Series(uniq, dtype="str"), index=False).to_numpy()[codes]
    with np.errstate(over="ignore"):
        z = h ^ dates.astype("datetime64[us]").view("int64").astype(np.uint64)
        z = (z + np.uint64(0x9E3779B97F4A7C15)) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions (ascending) of the ``k`` smallest keys (keys are distinct in practice)."""
    return np.sort(np.argpartition(keys, k - 1)[:k]) if len(keys) > k else np.arange(len(keys))


def _in_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``values`` found in ``sorted_set`` (both datetime64[us]), by binary search."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    i = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[i] == values


def fit_win_model(train: pd.DataFrame, fit_date: pd.Timestamp, settings: Settings) -> WinModel:
    """Fit P(won in window) on training rows of :func:`deal_frame`.

    ``logit P = b0 + sum_j b_j (x_j - mean_j) / sd_j``, fitted by maximum likelihood (statsmodels ``Logit``) with
    a log-F(m, m) prior on each slope, ``m = prior_strength`` (``m`` pseudo-records per
    slope: ``x_j = 1``, the others and the intercept 0, outcome 1/2). More than
    ``max_training_rows`` rows are subsampled by a hash of (deal, date), so the sample does
    not depend on row order. Fewer than ``min_training_events`` wins: no model (kind
    ``none``).

    The team shock: per (training Monday, team), ``O`` = wins, ``E = sum p``, ``V = sum
    p (1 - p)``; ``team_shock_var = max(0, (sum (O - E)^2 - sum V) / sum E^2)``, the
    variance of a factor common to a team's deals in a window beyond independent draws.
    """
    if len(train) > settings.forecast_max_training_rows:
        keys = _row_keys(train["opportunity_id"], train["as_of_date"].to_numpy(dtype=_US))
        train = train.iloc[_smallest(keys, settings.forecast_max_training_rows)]
    y = train["won_in_window"].to_numpy(dtype="float64")
    n, events = len(y), int(y.sum())
    amt = train["amount"].to_numpy(dtype="float64")
    won_amt = train["won_amount"].to_numpy(dtype="float64")
    ok = (y == 1) & (amt > 0) & (won_amt > 0)
    ratios = np.sort(won_amt[ok] / amt[ok])
    base = events / n if n else np.nan
    empty = np.zeros(0)
    if events < max(settings.forecast_min_training_events, 1) or events == n:
        return WinModel(pd.Timestamp(fit_date), (), empty, empty, empty, base, "none", n, events, ratios)
    x = design_matrix(train, settings)
    sd = x.std(axis=0, ddof=0).to_numpy()
    use = sd > 1e-9
    columns = tuple(x.columns[use])
    xv = x.to_numpy()[:, use]
    center, scale = xv.mean(axis=0), sd[use]
    z = (xv - center) / scale
    k = z.shape[1]
    m = max(int(settings.forecast_prior_strength), 0)
    pseudo = np.tile(np.column_stack([np.zeros(k), np.eye(k)]), (m, 1))
    exog = np.vstack([np.column_stack([np.ones(n), z]), pseudo])
    endog = np.r_[y, np.full(k * m, 0.5)]
    res = sm.Logit(endog, exog, hasconst=True, check_rank=False).fit(disp=0, method="newton", maxiter=50)
    model = WinModel(pd.Timestamp(fit_date), columns, center, scale, np.asarray(res.params), base, "model", n, events, ratios)
    # Deals of a team in the same window win and lose together more than independent draws:
    # per (training Monday, team), O = wins, E = sum p, V = sum p(1 - p);
    # sigma^2 = max(0, (sum (O - E)^2 - sum V) / sum E^2), the variance of a common factor on p.
    p_train, _ = predict(model, train, settings)
    g = pd.DataFrame({"d": train["as_of_date"].to_numpy(), "t": train["team"].to_numpy(), "o": y, "e": p_train, "v": p_train * (1 - p_train)})
    g = g.groupby(["d", "t"], sort=False)[["o", "e", "v"]].sum()
    shock = ((g["o"] - g["e"]) ** 2).sum() - g["v"].sum()
    sigma2 = float(max(shock / (g["e"] ** 2).sum(), 0.0)) if len(g) else 0.0
    return replace(model, team_shock_var=sigma2)


def predict(model: WinModel, frame: pd.DataFrame, settings: Settings) -> tuple[np.ndarray, pd.DataFrame]:
    """Win probabilities of ``frame``'s rows and each feature group's contribution.

    ``p = 1 / (1 + exp(-(b0 + sum_j b_j z_j)))``; the contribution of a group is
    ``sum_{j in group} b_j z_j`` (log-odds relative to the average training deal).

    Returns
    -------
    tuple
        ``p`` (float array; NaN without a model) and the contributions (one column per
        group; none without a model).
    """
    if model.kind != "model":
        p = np.full(len(frame), np.nan, dtype="float64")
        return p, pd.DataFrame(index=frame.index)
    x = design_matrix(frame, settings).reindex(columns=list(model.columns), fill_value=0.0)
    z = (x.to_numpy() - model.center) / model.scale
    contrib = z * model.params[1:]
    eta = model.params[0] + contrib.sum(axis=1)
    p = 1.0 / (1.0 + np.exp(-eta))
    groups = pd.DataFrame(contrib, columns=[_group(c) for c in model.columns], index=frame.index)
    return p, groups.T.groupby(level=0).sum().T


def _describe(frame: pd.DataFrame, group: str) -> pd.Series:
    """A short phrase for a feature group's value on each row."""
    if group == "stage":
        return "stage " + frame["stage"].fillna("unknown").astype("str")
    if group == "close":
        return "close date " + frame["close_position"].map(
            {"in_window": "in the window", "past": "already past", "later": "after the window", "missing": "missing"}
        ).astype("str")
    if group in ("pushes", "flag_pushed"):
        return frame["n_pushes"].fillna(0).astype("int64").astype("str") + " close-date pushes"
    if group == "log_age":
        return frame["age_days"].round(0).astype("int64").astype("str") + " days old"
    if group == "log_days_in_stage":
        return frame["days_in_stage"].round(0).astype("Int64").astype("str").fillna("?") + " days in stage"
    if group in ("log_days_since_activity", "never_active", "flag_no_recent_activity"):
        since = frame["days_since_activity"].round(0).astype("Int64").astype("str")
        return ("last activity " + since + " days ago").fillna("no activity logged")
    if group in ("log_amount", "amount_missing"):
        return "amount " + frame["amount"].map(lambda a: "missing" if pd.isna(a) else f"{a:,.0f}").astype("str")
    if group == "flag_early_stage_in_window":
        return pd.Series("early stage yet due in the window", index=frame.index, dtype="str")
    if group == "passes_gate":
        return frame["gate_reason"].astype("str").where(~frame["passes_gate"], "passes the gate")
    if group == "rep_logit":
        return "rep's win rate " + (frame["rep_win_rate"] * 100).round(0).astype("Int64").astype("str").fillna("?") + "%"
    return pd.Series(group, index=frame.index, dtype="str")


def _reasons(frame: pd.DataFrame, contrib: pd.DataFrame, top: int = 3) -> pd.Series:
    """The ``top`` feature groups moving each deal's odds most, as text with their log-odds."""
    if contrib.empty or not len(frame):
        return pd.Series("", index=frame.index, dtype="str")
    # merge groups that describe the same thing (e.g. pushes and flag_pushed)
    names = [FEATURE_GROUPS.get(c, c) for c in contrib.columns]
    merged = contrib.T.groupby(names, sort=False).sum().T
    rep_col = {FEATURE_GROUPS.get(c, c): c for c in contrib.columns}
    values = merged.to_numpy()
    order = np.argsort(-np.abs(values), axis=1)[:, :top]
    texts = {name: _describe(frame, rep_col[name]).to_numpy(dtype=object) for name in merged.columns}
    cols = list(merged.columns)
    out = []
    for i in range(len(frame)):
        parts = [f"{texts[cols[j]][i]} ({values[i, j]:+.1f})" for j in order[i] if abs(values[i, j]) >= 0.05]
        out.append("; ".join(parts))
    return pd.Series(out, index=frame.index, dtype="str")


def win_probabilities(
    dataset: Dataset,
    dates: Sequence[pd.Timestamp | str] | pd.DatetimeIndex | np.ndarray,
    settings: Settings,
    *,
    reasons: bool = False,
    prepared: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[pd.Timestamp, WinModel]]:
    """Every deal open at each date with its win-by-window-end probability.

    For each date ``D``: the model fitted at ``R = model_schedule(D)`` on the deals open at
    :func:`training_mondays` of ``R`` (labels known at ``R <= D``) scores every deal open
    at ``D``. ``expected_amount = win_probability * amount * amount_ratio`` where
    ``amount_ratio`` = mean won/listed amount of the training wins.

    Returns
    -------
    tuple
        The rows of :func:`deal_frame` at the dates with ``win_probability``,
        ``probability_source`` (the model's kind), ``fit_date``, ``expected_amount`` (and
        ``reasons`` when asked), and the models by fit date.
    """
    d = _dates(dates)
    fits = model_schedule(d, settings)
    train_days = [training_mondays(pd.Timestamp(r), settings) for r in np.unique(fits)]
    grid = _dates(np.concatenate([d, *[t.to_numpy() for t in train_days]])) if len(d) else d
    opps = dataset.opportunities
    if prepared is None and dataset.has("opportunity_history"):
        prepared = prepare_history(opps, dataset.table("opportunity_history"))
    frame = deal_frame(dataset, grid, settings, prepared)
    train_dates = frame["as_of_date"].to_numpy(dtype=_US)
    keys = _row_keys(frame["opportunity_id"], train_dates)
    score = frame.loc[_in_sorted(train_dates, d)].copy()
    score["fit_date"] = fits[np.searchsorted(d, score["as_of_date"].to_numpy(dtype=_US))]
    score["win_probability"] = np.nan
    score["probability_source"] = "none"
    score["amount_ratio"] = 1.0
    models: dict[pd.Timestamp, WinModel] = {}
    reason_parts = []
    for r, mondays in zip(np.unique(fits), train_days, strict=True):
        rows = np.flatnonzero(_in_sorted(train_dates, mondays.to_numpy()))
        if len(rows) > settings.forecast_max_training_rows:  # the same subsample fit_win_model draws
            rows = rows[_smallest(keys[rows], settings.forecast_max_training_rows)]
        model = fit_win_model(frame.iloc[rows], pd.Timestamp(r), settings)
        models[pd.Timestamp(r)] = model
        sel = score["fit_date"].to_numpy(dtype=_US) == r
        if not sel.any():
            continue
        part = score.loc[sel]
        p, contrib = predict(model, part, settings)
        score.loc[sel, "win_probability"] = p
        score.loc[sel, "probability_source"] = model.kind
        score.loc[sel, "amount_ratio"] = model.amount_ratio
        if reasons:
            reason_parts.append(_reasons(part, contrib))
    amount = score["amount"].fillna(0.0)
    score["expected_amount"] = score["win_probability"] * amount * score["amount_ratio"]
    if reasons:
        score["reasons"] = pd.concat(reason_parts).reindex(score.index).fillna("").astype("str") if reason_parts else ""
    score = score.astype({"probability_source": "str", "fit_date": _US})
    return score.reset_index(drop=True), models


# -- new business -------------------------------------------------------------------------------


def new_business_rates(dataset: Dataset, dates: np.ndarray, settings: Settings, prepared: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each rep's expected won revenue from deals not yet created, as known at each date.

    A past window of Monday ``M`` is ``(M, M + window)``; it is known at ``D`` when
    ``M + window <= D``, and used when ``M >= D - new_business_weeks weeks`` and the rep had
    created a deal by ``M``. Its new business: the deals created after ``M`` and won inside
    it (count ``c``, amounts as recorded at the win). Over the rep's ``n`` usable windows,
    ``C = sum c``, ``S = sum amounts``, ``Q = sum amounts^2``; the team's ``lambda_T = sum
    C / sum n``, ``mu_T = sum S / sum C``, ``cv2_T = (sum Q / sum C) / mu_T^2 - 1``:

    * ``lambda = (C + k lambda_T) / (n + k)`` (``k = new_business_prior_windows``),
    * ``mu = (S + m mu_T) / (C + m)`` (``m = new_business_prior_deals``),
    * ``expected = lambda * mu``; amounts in a draw are gamma with the team's ``cv2``.

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``rep_id``, ``team``, ``n_windows``, ``n_new_won``,
        ``rate_per_window`` (lambda), ``mean_amount`` (mu), ``amount_cv2``, ``expected``.
    """
    d = _dates(dates)
    opps = dataset.opportunities
    reps = dataset.reps
    rep_ids = reps["rep_id"].astype("str").to_numpy()
    teams = reps["team"].astype("str").to_numpy()
    window = pd.Timedelta(days=settings.forecast_window_days)
    empty = pd.DataFrame(
        {"as_of_date": pd.Series(dtype=_US), "rep_id": pd.Series(dtype="str"), "team": pd.Series(dtype="str")}
    )
    if not len(d):
        return empty.assign(n_windows=0, n_new_won=0, rate_per_window=0.0, mean_amount=0.0, amount_cv2=0.0, expected=0.0)
    lo = pd.Timestamp(d.min()) - settings.forecast_new_business_weeks * _WEEK
    grid = pd.date_range(lo.normalize() - _WEEK, pd.Timestamp(d.max()), freq="W-MON").as_unit("us").to_numpy()
    g = len(grid)
    code = pd.Index(rep_ids).get_indexer(opps["rep_id"].astype("str"))
    created = opps["created_at"].to_numpy(dtype=_US)
    closed = opps["closed_at"].to_numpy(dtype=_US)
    if prepared is None and dataset.has("opportunity_history"):
        prepared = prepare_history(opps, dataset.table("opportunity_history"))
    prepared = prepared if prepared is not None else pd.DataFrame(
        {"opp_index": pd.Series(dtype="int64"), "changed_at": pd.Series(dtype=_US), "amount": pd.Series(dtype="float64")}
    )
    amount = _won_amount_known(opps, prepared)
    won = (opps["status"] == "won").to_numpy() & ~np.isnat(closed) & (code >= 0)
    # windows M with closed - window < M < created (M < created <= closed < M + window)
    w_lo = np.searchsorted(grid, (closed - window.to_timedelta64())[won], side="right")
    w_hi = np.searchsorted(grid, created[won], side="left")
    cnt = np.clip(w_hi - w_lo, 0, None)
    idx = np.repeat(np.arange(won.sum()), cnt)
    widx = np.repeat(w_lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    rep_w = code[won][idx]
    a = np.nan_to_num(amount[won][idx])
    r = len(rep_ids)
    c_mat = np.zeros((r, g))
    s_mat = np.zeros((r, g))
    q_mat = np.zeros((r, g))
    np.add.at(c_mat, (rep_w, widx), 1.0)
    np.add.at(s_mat, (rep_w, widx), a)
    np.add.at(q_mat, (rep_w, widx), a * a)
    first = np.full(r, np.datetime64("NaT"), dtype=_US)
    has = code >= 0
    fc = pd.Series(created[has]).groupby(code[has]).min()
    first[fc.index.to_numpy()] = fc.to_numpy(dtype=_US)
    active = (~np.isnat(first))[:, None] & (first[:, None] <= grid[None, :])
    n_mat = active.astype("float64")
    c_mat, s_mat, q_mat = c_mat * n_mat, s_mat * n_mat, q_mat * n_mat

    def csum(m: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((r, 1)), np.cumsum(m, axis=1)], axis=1)

    cums = [csum(m) for m in (n_mat, c_mat, s_mat, q_mat)]
    hi = np.searchsorted(grid, d - window.to_timedelta64(), side="right")  # M <= D - window
    lo_i = np.searchsorted(grid, d - settings.forecast_new_business_weeks * _WEEK.to_timedelta64(), side="left")
    lo_i = np.minimum(lo_i, hi)
    n_w, c_w, s_w, q_w = ((cs[:, hi] - cs[:, lo_i]).T.ravel() for cs in cums)  # (date, rep) order
    out = pd.DataFrame(
        {"as_of_date": np.repeat(d, r), "rep_id": np.tile(rep_ids, len(d)), "team": np.tile(teams, len(d)),
         "n_windows": n_w.astype("int64"), "n_new_won": c_w.astype("int64"), "_s": s_w, "_q": q_w}
    )
    t = out.groupby(["as_of_date", "team"])[["n_windows", "n_new_won", "_s", "_q"]].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_t = np.where(t["n_windows"] > 0, t["n_new_won"] / t["n_windows"], 0.0)
        mu_t = np.where(t["n_new_won"] > 0, t["_s"] / t["n_new_won"], 0.0)
        cv2_t = np.where((t["n_new_won"] > 1) & (mu_t > 0), (t["_q"] / t["n_new_won"]) / mu_t**2 - 1.0, 1.0)
        k = float(settings.forecast_new_business_prior_windows)
        m = float(settings.forecast_new_business_prior_deals)
        lam = np.where(out["n_windows"] + k > 0, (out["n_new_won"] + k * lam_t) / (out["n_windows"] + k), 0.0)
        mu = np.where(out["n_new_won"] + m > 0, (out["_s"] + m * mu_t) / (out["n_new_won"] + m), 0.0)
    out["rate_per_window"] = lam
    out["mean_amount"] = mu
    out["amount_cv2"] = np.clip(cv2_t, 0.05, None)
    out["expected"] = lam * mu
    out = out.drop(columns=["_s", "_q"])
    return out.astype({"as_of_date": _US, "rep_id": "str", "team": "str"})


# -- simulation ---------------------------------------------------------------------------------


def simulate_totals(
    deals: pd.DataFrame,
    new_business: pd.DataFrame,
    models: dict[pd.Timestamp, WinModel],
    settings: Settings,
) -> pd.DataFrame:
    """Simulated won revenue per (date, rep): quantiles of the rep's and team's total.

    Per draw: each deal is won with its probability (Bernoulli); a rep's won amount is
    ``m * sum(amount of the won deals) + sqrt(v * sum(p * amount^2)) * z`` (``z`` standard
    normal, the total floored at 0), with ``m`` and ``v`` the mean and variance of the
    won/listed amount ratios of the model's training wins (``m = 1, v = 0`` without any):
    the same mean and variance as drawing each won amount as ``amount * r``; new business adds ``N ~ Poisson(lambda')`` deals, ``lambda'`` drawn from
    the rate's gamma posterior ``Gamma(C + k lambda_T, n + k)`` (mean ``lambda``), whose total is
    ``Gamma(N / cv2, mu * cv2)`` (``N`` gamma amounts of mean ``mu``). Every probability
    and new-business rate of a team is multiplied, per draw, by a common factor
    ``exp(sigma z - sigma^2 / 2)`` (``sigma^2`` the model's ``team_shock_var``): a team's
    reps share good and bad windows. A team's draw is the
    sum of its reps' draws (the same draw), so a team interval is not a sum of rep intervals.
    ``forecast_low`` / ``forecast_high`` are the ``(1 - interval) / 2`` and
    ``(1 + interval) / 2`` quantiles of ``simulations`` draws; the random stream of a date
    is seeded by ``(seed, date)``, so a date's interval does not depend on other dates.

    Parameters
    ----------
    deals
        ``as_of_date``, ``rep_id``, ``amount``, ``win_probability``, ``fit_date``.
    new_business
        Rows of :func:`new_business_rates`.
    models
        The models by fit date (their won/listed ratios and team shock variance).

    Returns
    -------
    pandas.DataFrame
        ``as_of_date``, ``rep_id``, ``team`` (``group`` = ``rep``) and one row per
        (date, team) with ``rep_id`` NA (``group`` = ``team``) and one per date for ``all``:
        ``forecast_low``, ``forecast_high``.
    """
    s = int(settings.forecast_simulations)
    q_lo, q_hi = (1 - settings.forecast_interval) / 2, (1 + settings.forecast_interval) / 2
    parts = []
    nb = new_business.set_index(["as_of_date", "rep_id"]).sort_index()
    deals = deals.loc[deals["win_probability"].notna()]
    by_date = dict(tuple(deals.groupby("as_of_date", sort=True)))
    for when in new_business["as_of_date"].drop_duplicates().sort_values():
        nbd = nb.loc[when]
        rep_ids = nbd.index.to_numpy()
        teams = nbd["team"].to_numpy()
        rng = np.random.default_rng([int(settings.forecast_seed), int(pd.Timestamp(when).value // 1000)])
        totals = np.zeros((len(rep_ids), s))
        tcodes, tnames = pd.factorize(teams)
        dd = by_date.get(when)
        model = models.get(pd.Timestamp(dd["fit_date"].iloc[0])) if dd is not None and len(dd) else None
        sigma2 = model.team_shock_var if model is not None else 0.0
        # the team's common factor per draw, mean 1: exp(sigma z - sigma^2 / 2)
        shock = np.exp(np.sqrt(sigma2) * rng.standard_normal((len(tnames), s)) - sigma2 / 2) if sigma2 > 0 else None
        if dd is not None and len(dd):
            rep_i = pd.Index(rep_ids).get_indexer(dd["rep_id"])
            order = np.lexsort((rep_i, tcodes[rep_i]))  # by team, then rep: both contiguous
            rep_i = rep_i[order]
            p = dd["win_probability"].to_numpy(dtype="float64")[order].astype(np.float32)
            amt = dd["amount"].fillna(0.0).to_numpy(dtype="float64")[order].astype(np.float32)
            won = np.empty((len(dd), s), dtype=bool)
            team_of = tcodes[rep_i]
            bounds = np.r_[np.flatnonzero(np.r_[True, team_of[1:] != team_of[:-1]]), len(dd)]
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                chance = p[lo:hi, None] if shock is None else p[lo:hi, None] * shock[team_of[lo]].astype(np.float32)
                won[lo:hi] = rng.random((hi - lo, s), dtype=np.float32) < chance
            starts = np.flatnonzero(np.r_[True, rep_i[1:] != rep_i[:-1]])
            a1 = np.add.reduceat(np.where(won, amt[:, None], np.float32(0)), starts, axis=0).astype("float64")
            rat = model.ratios if model is not None else np.zeros(0)
            m, v = (float(rat.mean()), float(rat.var())) if len(rat) else (1.0, 0.0)
            pipeline = m * a1
            if v > 0:  # amount noise of variance v * sum(p * amount^2): the total's variance stays exact
                a2 = np.add.reduceat((p * amt * amt).astype("float64"), starts)
                pipeline = np.maximum(pipeline + np.sqrt(v * a2)[:, None] * rng.standard_normal(a1.shape), 0.0)
            totals[rep_i[starts]] += pipeline
        lam = nbd["rate_per_window"].to_numpy(dtype="float64")
        mu = nbd["mean_amount"].to_numpy(dtype="float64")
        cv2 = nbd["amount_cv2"].to_numpy(dtype="float64")
        # the rate is itself uncertain: its gamma posterior (shape C + k lambda_T, rate n + k)
        weight = nbd["n_windows"].to_numpy(dtype="float64") + float(settings.forecast_new_business_prior_windows)
        lam_draw = rng.gamma(np.broadcast_to(np.maximum(lam * weight, 1e-9)[:, None], (len(lam), s))) / np.maximum(weight, 1e-9)[:, None]
        if shock is not None:
            lam_draw = lam_draw * shock[tcodes]
        n_new = rng.poisson(np.where(lam[:, None] > 0, lam_draw, 0.0))
        shape = n_new / cv2[:, None]
        new = np.where(n_new > 0, rng.gamma(np.where(shape > 0, shape, 1.0), (mu * cv2)[:, None]), 0.0)
        totals = totals + new
        qs = np.quantile(totals, [q_lo, q_hi], axis=1)
        parts.append(pd.DataFrame({"as_of_date": when, "group": "rep", "team": teams, "rep_id": rep_ids, "forecast_low": qs[0], "forecast_high": qs[1]}))
        team_tot = np.zeros((len(tnames), s))
        np.add.at(team_tot, tcodes, totals)
        tq = np.quantile(team_tot, [q_lo, q_hi], axis=1)
        aq = np.quantile(totals.sum(axis=0), [q_lo, q_hi])
        parts.append(pd.DataFrame({"as_of_date": when, "group": "team", "team": np.asarray(tnames), "rep_id": pd.NA, "forecast_low": tq[0], "forecast_high": tq[1]}))
        parts.append(pd.DataFrame({"as_of_date": [when], "group": ["team"], "team": [ALL], "rep_id": [pd.NA], "forecast_low": [aq[0]], "forecast_high": [aq[1]]}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in [("as_of_date", _US), ("group", "str"), ("team", "str"), ("rep_id", "str"), ("forecast_low", "float64"), ("forecast_high", "float64")]})
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"as_of_date": _US, "group": "str", "team": "str", "rep_id": "str"})


# -- calibration --------------------------------------------------------------------------------


def reliability_table(deals: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Predicted against realised win-by-window-end rates, by probability decile.

    Bin ``b`` holds the deals with ``b/bins <= p < (b+1)/bins`` (the last bin includes 1);
    ``mean_predicted = mean(p)``, ``observed = mean(won in window)`` with a Wilson 95%
    interval, ``gap = observed - mean_predicted``; a last row ``all`` has the totals, and
    every row the Brier score ``mean((p - y)^2)`` of its deals.

    Parameters
    ----------
    deals
        ``win_probability`` and ``won_in_window`` per (date, deal), windows complete.

    Returns
    -------
    pandas.DataFrame
        ``bin`` (``0.0-0.1``, ..., ``all``), ``n_deals``, ``n_won`` (int64),
        ``mean_predicted``, ``observed``, ``ci_low``, ``ci_high``, ``gap``, ``brier``.
    """
    p = deals["win_probability"].to_numpy(dtype="float64")
    y = deals["won_in_window"].to_numpy(dtype="float64")
    ok = ~np.isnan(p)
    p, y = p[ok], y[ok]
    b = np.minimum((p * bins).astype("int64"), bins - 1)
    labels = [f"{i / bins:.1f}-{(i + 1) / bins:.1f}" for i in range(bins)]
    frame = pd.DataFrame({"bin": np.asarray(labels, dtype=object)[b] if len(b) else np.zeros(0, dtype=object), "p": p, "y": y, "sq": (p - y) ** 2})
    g = frame.groupby("bin").agg(n_deals=("p", "size"), n_won=("y", "sum"), mean_predicted=("p", "mean"), observed=("y", "mean"), brier=("sq", "mean"))
    g = g.reindex(labels)
    total = pd.DataFrame(
        {"n_deals": [len(p)], "n_won": [y.sum()], "mean_predicted": [p.mean() if len(p) else np.nan],
         "observed": [y.mean() if len(y) else np.nan], "brier": [frame["sq"].mean() if len(p) else np.nan]},
        index=pd.Index(["all"], name="bin"),
    )
    out = pd.concat([g, total]).rename_axis("bin").reset_index()
    out["n_deals"] = out["n_deals"].fillna(0).astype("int64")
    out["n_won"] = out["n_won"].fillna(0).astype("int64")
    lo, hi = wilson_interval(out["n_won"].to_numpy(), out["n_deals"].to_numpy())
    out["ci_low"], out["ci_high"] = lo, hi
    out["gap"] = out["observed"] - out["mean_predicted"]
    cols = ["bin", "n_deals", "n_won", "mean_predicted", "observed", "ci_low", "ci_high", "gap", "brier"]
    return out[cols].astype({"bin": "str"})

