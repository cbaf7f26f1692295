"""Tests of salesx2lib.training written to kill mutants `make mutate` found surviving.

Small hand-written worlds; expected values by hand (the arithmetic is in the comments) or by
a plain loop over reps and bins written here from the docstring formulas.

The end-to-end world (``_rate_world``): data from Monday 5 January 2026 (day 0) for 70 days,
a 2-week window (14 days), team T with the trained rep ``t`` and untrained ``a``, ``b``,
``c`` who dial 10 a day and connect 3 (0.3) every day. The untrained reps are identical, so
every placebo training has effect 0 and studentized statistic 0: the critical values are 0
and the interval is the effect itself, which keeps the whole row checkable by hand. Placebo
dates (training on day 35, a Monday: phase 0): days 14, 21, ..., 56 (the windows must fit in
days 0..69): 7 dates x 3 reps = 21 placebo statistics, enough for 95% (ceil(0.95 x 22) = 21).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from salesx2lib import training
from salesx2lib.settings import load_settings

US = "datetime64[us]"
S0 = pd.Timestamp("2026-01-05")
DAY = pd.Timedelta(days=1)
D = S0 + 35 * DAY  # 2026-02-09, a Monday
AS_OF = S0 + 70 * DAY
SETTINGS = replace(load_settings(), training_controls=2, training_min_team_controls=2, training_min_deals=5)


def _rate_world(t_x, reps=("t", "a", "b", "c"), t_n=lambda d: 10) -> pd.DataFrame:
    """10 dials a day for every rep on days 0..69 (``t``: ``t_n(day)``); ``t`` connects ``t_x(day)``, the others 3."""
    rows = [(rep, S0 + d * DAY, float(t_n(d) if rep == "t" else 10), float(t_x(d) if rep == "t" else 3), 0.0)
            for rep in reps for d in range(70)]
    return pd.DataFrame(rows, columns=["rep_id", "at", "n", "x", "xx"]).astype({"rep_id": "str", "at": US})


def _reps(ids=("t", "a", "b", "c"), teams=None, hire=None) -> pd.DataFrame:
    out = pd.DataFrame({"rep_id": list(ids), "team": list(teams or ["T"] * len(ids))}).astype("str")
    if hire is not None:
        out = out.assign(hire_date=pd.Series(hire, dtype=US))
    return out


def _training(rep="t", when=D, competency="connect_rate") -> pd.DataFrame:
    return pd.DataFrame({"rep_id": [rep], "competency": [competency], "completed_at": [when]}).astype(
        {"rep_id": "str", "competency": "str", "completed_at": US})


def _run(events, reps=None, trainings=None, settings=SETTINGS, as_of=AS_OF, kind="rate", **kw) -> pd.DataFrame:
    return training.effects_from_events(events, _reps() if reps is None else reps,
                                        _training() if trainings is None else trainings, kind=kind, start=S0,
                                        as_of=as_of, settings=settings, weeks=2, **kw)


HEAD = "t (connect_rate, trained 2026-02-09): "
TAIL_PASSED = " Pre-trend check passed (+0.000, interval +0.000 to +0.000)."


@pytest.mark.parametrize(
    ("name", "t_x", "expected"),
    [
        # before [day 21, day 35): 14 days x 10 = 140 dials, 2 a day = 28 -> 0.2; after 5 a day -> 0.5;
        # controls a, b (the first two of the identical three) 0.3 -> 0.3: effect (0.5 - 0.2) - 0 = 0.3;
        # halves 0.2 and 0.2: pre-trend 0 -> interval [0, 0] holds 0: passed.
        # p = (1 + #{|0| >= 0.3/se}) / (21 + 1) = 1/22.
        ("improved", lambda d: 2 if d < 35 else 5,
         dict(rep_before=0.2, rep_after=0.5, effect=0.3, pre_trend=0.0, p_value=1 / 22, pre_trend_check="passed",
              sentence=HEAD + "0.200 → 0.500 over 14 days each side (140 and 140 trials); 2 matched untrained reps "
              "(team) moved 0.300 → 0.300. Effect +0.300 (interval +0.300 to +0.300, calibrated on 21 placebo "
              "trainings): improved more than comparable untrained reps." + TAIL_PASSED)),
        ("worse", lambda d: 5 if d < 35 else 2,
         dict(rep_before=0.5, rep_after=0.2, effect=-0.3, pre_trend=0.0, p_value=1 / 22, pre_trend_check="passed",
              sentence=HEAD + "0.500 → 0.200 over 14 days each side (140 and 140 trials); 2 matched untrained reps "
              "(team) moved 0.300 → 0.300. Effect -0.300 (interval -0.300 to -0.300, calibrated on 21 placebo "
              "trainings): got worse compared with comparable untrained reps." + TAIL_PASSED)),
        # t like the others: effect 0, t-statistic 0, every placebo |0| >= |0|: p = 22/22
        ("no_clear_change", lambda d: 3,
         dict(rep_before=0.3, rep_after=0.3, effect=0.0, pre_trend=0.0, p_value=1.0, pre_trend_check="passed",
              sentence=HEAD + "0.300 → 0.300 over 14 days each side (140 and 140 trials); 2 matched untrained reps "
              "(team) moved 0.300 → 0.300. Effect +0.000 (interval +0.000 to +0.000, calibrated on 21 placebo "
              "trainings): no clear change: the data cannot tell this effect from none." + TAIL_PASSED)),
        # halves: days 21..27 at 2 a day (0.2), days 28..34 at 4 (0.4): before (14 + 28) / 140 = 0.3, after 0.5;
        # pre-trend (0.4 - 0.2) - 0 = 0.2, interval [0.2, 0.2] excludes 0: failed, whatever the effect
        ("pre_trend_failed", lambda d: 2 if d < 28 else 4 if d < 35 else 5,
         dict(rep_before=0.3, rep_after=0.5, effect=0.2, pre_trend=0.2, p_value=1 / 22, pre_trend_check="failed",
              sentence=HEAD + "0.300 → 0.500 over 14 days each side (140 and 140 trials); 2 matched untrained reps "
              "(team) moved 0.300 → 0.300. Effect +0.200 (interval +0.200 to +0.200, calibrated on 21 placebo "
              "trainings): not trusted: the pre-trend check failed. Before the training the rep was already moving "
              "apart from the controls (pre-trend +0.200, interval +0.200 to +0.200), so the before-after "
              "comparison is not reliable.")),
    ],
)
def test_a_whole_row_by_hand_for_each_verdict(name, t_x, expected):
    out = _run(_rate_world(t_x))
    assert out.columns.tolist() == list(training._COLUMNS) and len(out) == 1
    assert out.dtypes.astype(str).tolist() == list(training._COLUMNS.values())
    row = out.iloc[0]
    e = expected
    assert (row["rep_id"], row["team"], row["competency"], row["metric"]) == ("t", "T", "connect_rate", "connect_rate")
    assert row["completed_at"] == D and row["window_days"] == 14
    assert (row["rep_before"], row["rep_after"]) == pytest.approx((e["rep_before"], e["rep_after"]))
    assert (row["rep_n_before"], row["rep_n_after"]) == (140, 140)
    assert (row["control_before"], row["control_after"]) == pytest.approx((0.3, 0.3))
    assert (row["n_control_reps"], row["controls"], row["control_pool"]) == (2, "a, b", "team")
    assert (row["effect"], row["ci_low"], row["ci_high"]) == pytest.approx((e["effect"],) * 3, abs=1e-12)
    assert row["p_value"] == pytest.approx(e["p_value"])
    assert (row["pre_trend"], row["pre_trend_low"], row["pre_trend_high"]) == pytest.approx((e["pre_trend"],) * 3,
                                                                                          abs=1e-12)
    assert row["pre_trend_check"] == e["pre_trend_check"]
    assert row["n_placebos"] == 21 and row["effect_unit"] == "rate points"
    assert row["verdict"] == name
    assert row["sentence"] == e["sentence"]
    assert row["warning"] == ""


def test_deal_size_is_reported_relative_by_hand():
    """Deal size: one won deal a day per rep, log amount 1 on even days and 3 on odd days (mean 2 over
    any 14 days); t's after-window deals are 0.5 larger in log. Levels are reported as exp(mean log):
    e^2 = 7.389 -> e^2.5 = 12.18; the effect exp(0.5) - 1 = +65%, the controls e^2 -> e^2."""
    rows = []
    for rep in ("t", "a", "b", "c"):
        for d in range(70):
            v = (1.0 if d % 2 == 0 else 3.0) + (0.5 if rep == "t" and d >= 35 else 0.0)
            rows.append((rep, S0 + d * DAY, 1.0, v, v * v))
    events = pd.DataFrame(rows, columns=["rep_id", "at", "n", "x", "xx"]).astype({"rep_id": "str", "at": US})
    row = _run(events, trainings=_training(competency="deal_size"), kind="log", trial_name="won deals").iloc[0]
    assert row["metric"] == "avg_deal_size" and row["effect_unit"] == "relative"
    assert (row["rep_before"], row["rep_after"]) == pytest.approx((np.exp(2.0), np.exp(2.5)))
    assert (row["control_before"], row["control_after"]) == pytest.approx((np.exp(2.0), np.exp(2.0)))
    assert (row["effect"], row["ci_low"], row["ci_high"]) == pytest.approx((np.exp(0.5) - 1,) * 3)
    assert (row["pre_trend"], row["pre_trend_low"], row["pre_trend_high"]) == pytest.approx((0.0,) * 3, abs=1e-12)
    assert (row["rep_n_before"], row["rep_n_after"], row["n_placebos"]) == (14, 14, 21)
    assert row["verdict"] == "improved" and row["p_value"] == pytest.approx(1 / 22)
    assert row["sentence"] == (
        "t (deal_size, trained 2026-02-09): 7 → 12 (geometric mean deal size) over 14 days each side (14 and 14 "
        "won deals); 2 matched untrained reps (team) moved 7 → 7. Effect +65% (interval +65% to +65%, calibrated "
        "on 21 placebo trainings): improved more than comparable untrained reps. Pre-trend check passed (+0%, "
        "interval +0% to +0%).")


def test_placebo_dates_fall_on_the_training_weekday():
    """Trained on day 37 (a Wednesday, phase 2): placebo dates 16, 23, 30, 37, 44, 51 (the first
    with 14 days before it on that weekday; the last whose 14 days after end by day 70): 6 x 3 = 18
    statistics, fewer than the 19 that 95% needs (ceil(0.95 x 19) = 19 > 18)."""
    row = _run(_rate_world(lambda d: 2 if d < 37 else 5), trainings=_training(when=S0 + 37 * DAY)).iloc[0]
    assert row["n_placebos"] == 18 and row["verdict"] == "insufficient_data"
    assert row["warning"] == "only 18 placebo trainings to calibrate the interval (need 19)"
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]) and row["effect"] == pytest.approx(0.3)
    assert row["pre_trend_check"] == "not_checked" and np.isnan(row["pre_trend_low"])
    assert row["sentence"].endswith(
        "moved 0.300 → 0.300. Insufficient data to tell: only 18 placebo trainings to calibrate the interval (need 19).")


def test_a_rep_hired_late_joins_the_placebos_once_hired_before_their_window():
    """c hired on day 30: not a control of t (hired after day 21, the before window's start), and a
    placebo rep only at dates d0 whose before window starts after day 30 (d0 - 14 > 30: 49, 56).
    Dates 14..42 (5) with a, b: each against the other, 2 statistics; 49 and 56: 3 each. 10 + 6 = 16;
    a hire on day 20 (before day 21) would be a control."""
    hire = [pd.Timestamp("2020-01-01")] * 3 + [S0 + 30 * DAY]
    row = _run(_rate_world(lambda d: 2 if d < 35 else 5), reps=_reps(hire=hire),
               settings=replace(SETTINGS, training_controls=3)).iloc[0]
    assert row["n_placebos"] == 16 and row["controls"] == "a, b"
    early = hire[:3] + [S0 + 20 * DAY]
    row = _run(_rate_world(lambda d: 2 if d < 35 else 5), reps=_reps(hire=early),
               settings=replace(SETTINGS, training_controls=3)).iloc[0]
    assert row["controls"] == "a, b, c"
    # at hire day 21 exactly: hired on the window's first day is not a control
    edge = hire[:3] + [S0 + 21 * DAY]
    row = _run(_rate_world(lambda d: 2 if d < 35 else 5), reps=_reps(hire=edge),
               settings=replace(SETTINGS, training_controls=3)).iloc[0]
    assert row["controls"] == "a, b"


def test_insufficient_paths_and_their_words():
    world = _rate_world(lambda d: 2 if d < 35 else 5)
    # a rep the reps table does not know
    row = _run(world, trainings=_training(rep="zz")).iloc[0]
    assert (row["team"], row["verdict"], row["warning"], row["sentence"]) == (
        "", "insufficient_data", "zz is not in the reps table", "zz is not in the reps table.")
    assert (row["window_days"], row["n_control_reps"], row["n_placebos"], row["rep_n_before"], row["rep_n_after"]) == (
        14, 0, 0, 0, 0)
    assert (row["controls"], row["control_pool"], row["pre_trend_check"]) == ("", "", "not_checked")
    # 10 days of data after the training day: windows cut to 10 days, shorter than 14
    row = _run(world, as_of=D + 10 * DAY).iloc[0]
    notes = "the data holds only 10 days on one side of the training: windows cut to that; windows shorter than 14 days"
    assert (row["window_days"], row["verdict"], row["warning"]) == (10, "insufficient_data", notes)
    assert row["sentence"] == HEAD + f"insufficient data to tell ({notes})."
    assert np.isnan(row["rep_before"]) and row["rep_n_before"] == 0
    # exactly 14 days of data after: measured (the shortest window allowed), no "cut" note at a 2-week window
    row = _run(world, as_of=D + 14 * DAY).iloc[0]
    assert row["window_days"] == 14 and "shorter" not in row["warning"] and "cut" not in row["warning"]
    # 140 trials each side against a minimum of 141: too few (140 meets a minimum of 140)
    row = _run(world, settings=replace(SETTINGS, training_min_trials=141)).iloc[0]
    assert row["verdict"] == "insufficient_data"
    assert row["warning"] == "too few trials: 140 before, 140 after (fewer than 141)"
    assert row["effect"] == pytest.approx(0.3) and row["n_placebos"] == 21
    assert row["sentence"].endswith("Insufficient data to tell: too few trials: 140 before, 140 after (fewer than 141).")
    assert _run(world, settings=replace(SETTINGS, training_min_trials=140)).iloc[0]["verdict"] == "improved"
    # the deal minimum applies to deal competencies: min_deals 141 makes a win-rate training too small
    row = _run(world, trainings=_training(competency="win_rate"),
               settings=replace(SETTINGS, training_min_deals=141, training_min_trials=1)).iloc[0]
    assert "fewer than 141" in row["warning"]
    # every other rep trained: nobody to compare with
    everyone = pd.DataFrame({"rep_id": ["a", "b", "c"], "completed_at": [S0] * 3})
    row = _run(world, trained=pd.concat([everyone, _training()[["rep_id", "completed_at"]]])).iloc[0]
    assert (row["verdict"], row["warning"], row["n_control_reps"]) == ("insufficient_data",
                                                                      "no untrained rep to compare with", 0)
    assert row["sentence"] == HEAD + "insufficient data to tell (no untrained rep to compare with)."  # no effect yet
    assert row["control_pool"] == "floor"
    # two notes on that early exit are joined with "; "
    row = _run(world, settings=replace(SETTINGS, training_min_trials=141),
               trained=pd.concat([everyone, _training()[["rep_id", "completed_at"]]])).iloc[0]
    assert row["warning"] == ("too few trials: 140 before, 140 after (fewer than 141); "
                              "no untrained rep to compare with")


def test_a_small_team_takes_its_controls_from_the_floor():
    """Team T: t and a; team U: b and c. With min_team_controls 2 the team has 1 candidate: the floor's
    nearest two (all at 0.3: the first two of the floor, a and b)."""
    row = _run(_rate_world(lambda d: 2 if d < 35 else 5), reps=_reps(teams=["T", "T", "U", "U"])).iloc[0]
    assert (row["controls"], row["control_pool"]) == ("a, b", "floor")
    assert row["warning"] == "fewer than 2 untrained reps in team T: controls from the whole floor"
    # with a minimum of 1 the team's own candidate is enough
    row = _run(_rate_world(lambda d: 2 if d < 35 else 5), reps=_reps(teams=["T", "T", "U", "U"]),
               settings=replace(SETTINGS, training_min_team_controls=1)).iloc[0]
    assert (row["controls"], row["control_pool"], row["warning"]) == ("a", "team", "")


def test_refusals_name_the_setting():
    world = _rate_world(lambda d: 3)
    with pytest.raises(ValueError, match=r"^kind must be 'rate' or 'log', not 'mean'$"):
        _run(world, kind="mean")
    for bad in (dict(training_controls=0), dict(training_min_team_controls=0)):
        with pytest.raises(ValueError, match=r"^\[training\] controls and min_team_controls must be at least 1$"):
            _run(world, settings=replace(SETTINGS, **bad))
    # 1 is allowed for both
    assert len(_run(world, settings=replace(SETTINGS, training_controls=1, training_min_team_controls=1))) == 1


# ---------------------------------------------------------------------------------------
# the statistics, piece by piece, against plain loops written from the docstrings


def _tau2_by_loop(n, x, masks, pool, groups):
    """``tau2`` of _week_variance's docstring, rep by rep and bin by bin: groups with fewer than 3
    reps of ``pool`` pooled into one, ``c_k`` the group's bin rate minus its window rate."""
    idx = [i for i in range(len(n)) if pool[i]]
    size = {g: sum(1 for i in idx if groups[i] == g) for g in set(groups[idx])}
    group = {i: groups[i] if size[groups[i]] >= 3 else "(small)" for i in idx}
    num = den = 0.0
    for m in masks:
        bins = [k for k in range(len(m)) if m[k]]
        live = [i for i in idx if sum(n[i][k] for k in bins) > 0]
        for i in live:
            members = [j for j in live if group[j] == group[i]]
            tot = sum(n[i][k] for k in bins)
            p = sum(x[i][k] for k in bins) / tot
            g_rate = sum(x[j][k] for j in members for k in bins) / sum(n[j][k] for j in members for k in bins)
            s2 = sum(n[i][k] ** 2 for k in bins)
            for k in bins:
                gn = sum(n[j][k] for j in members)
                c = (sum(x[j][k] for j in members) / gn if gn > 0 else 0.0) - g_rate
                e = x[i][k] - n[i][k] * (p + c)
                num += e**2 - n[i][k] * p * (1 - p) * (1 - n[i][k] / tot)
                den += n[i][k] ** 2 * (1 - 2 * n[i][k] / tot + s2 / tot**2)
    return max(num / den, 0.0) if den > 0 else 0.0


# bins (labels): first half, second half, after, after
LABELS = np.array([0, 1, 2, 2])
N4 = np.array([[10, 30, 20, 20], [20, 20, 10, 30], [10, 10, 10, 10], [5, 5, 0, 0]], dtype="float64")
X4 = np.array([[1, 15, 4, 12], [10, 4, 6, 6], [5, 5, 5, 5], [1, 4, 0, 0]], dtype="float64")


def test_week_variance_of_two_small_teams_pooled_by_hand():
    """Reps 0 (team P) and 1 (team Q), 2 reps of the pool: one pooled group. Before window (bins 0, 1):
    group rates 11/30 and 19/50 against 30/80 -> c = (-1/120, 1/200); rep 0: p = 16/40 = 0.4,
    e = (1 - 10 (0.4 - 1/120), 15 - 30 (0.4 + 1/200)) = (-2.917, 2.85); rep 1: p = 14/40 = 0.35,
    e = (3.167, -3.1). The after window likewise; tau2 = 68.969 / 1250 = 0.0551756 (num / den)."""
    masks = [LABELS < 2, LABELS == 2]
    pool = np.array([True, True, False, False])
    groups = np.array(["P", "Q", "P", "P"])
    assert training._week_variance(N4, X4, masks, pool, groups) == pytest.approx(68.96944444444445 / 1250)
    assert training._week_variance(N4, X4, masks, pool, groups) == pytest.approx(_tau2_by_loop(N4, X4, masks, pool, groups))


def test_week_variance_takes_a_team_wide_swing_out():
    """Three reps of team T with the same swing (1 then 9 of 10): the team's bin rates swing alike, so
    nothing is left to the reps (tau2 = 0); with the reps in three teams (pooled as one small group)
    the same swing is still common: 0 as well. A rep alone against a steady group is not: rep 3's
    0/10 then 10/10 beside three steady reps at 5/10 leaves its own swing."""
    n = np.full((4, 2), 10.0)
    x = np.array([[1, 9], [1, 9], [1, 9], [5, 5]], dtype="float64")
    masks = [np.array([True, True])]
    pool = np.array([True, True, True, False])
    assert training._week_variance(n, x, masks, pool, np.array(["T", "T", "T", "U"])) == 0.0
    assert training._week_variance(n, x, masks, pool, np.array(["A", "B", "C", "D"])) == 0.0
    y = np.array([[5, 5], [5, 5], [5, 5], [0, 10]], dtype="float64")
    everyone = np.array([True, True, True, True])
    got = training._week_variance(n, y, masks, everyone, np.array(["T", "T", "T", "T"]))
    assert got == pytest.approx(_tau2_by_loop(n, y, masks, everyone, np.array(["T", "T", "T", "T"])))
    assert got > 0.05
    # three reps in team T and one in U: U's rep is pooled alone and its swing is its own group's
    mixed = training._week_variance(n, y, masks, everyone, np.array(["T", "T", "T", "U"]))
    assert mixed == pytest.approx(_tau2_by_loop(n, y, masks, everyone, np.array(["T", "T", "T", "U"])))
    # no trials at all: 0, never NaN
    assert training._week_variance(np.zeros((2, 2)), np.zeros((2, 2)), masks, np.array([True, True]),
                                   np.array(["T", "T"])) == 0.0


def test_week_variance_with_a_rep_empty_in_one_window():
    """Rep 3 has no trials after the training: it counts in the before window only."""
    masks = [LABELS < 2, LABELS == 2]
    pool = np.array([True, True, True, True])
    groups = np.array(["T", "T", "T", "U"])
    got = training._week_variance(N4, X4, masks, pool, groups)
    assert got == pytest.approx(_tau2_by_loop(N4, X4, masks, pool, groups))
    assert got > 0


def _levels_by_loop(n, x, xx, labels, kind, tau2, s2=None):
    out = {}
    for name, sel in {"before": labels < 2, "after": labels == 2, "h1": labels == 0, "h2": labels == 1}.items():
        rows = []
        for i in range(len(n)):
            nn = n[i][sel].sum()
            xs = min(x[i][sel].sum(), nn) if kind == "rate" else x[i][sel].sum()
            level = xs / nn if nn > 0 else np.nan
            if kind == "rate":
                q = (xs + 0.5) / (nn + 1)
                var = q * (1 - q) / nn + tau2 * (n[i][sel] ** 2).sum() / nn**2 if nn > 0 else np.inf
            else:
                var = s2 / nn if nn > 0 else np.inf
            rows.append((nn, level, var))
        out[name] = rows
    return out


def test_rate_levels_and_variances_by_hand():
    """Rep 0: before 10 + 30 = 40 dials with 16 connects (0.4), after 40 with 16; rep 2: 20 and 20 at 0.5;
    rep 3: 10 before (5 of them connects... capped: x 5 of n 10), none after. Variance of a window:
    p~ (1 - p~) / n + tau2 sum n_k^2 / n^2 with p~ = (x + 0.5) / (n + 1): rep 0 before
    p~ = 16.5 / 41, (16.5/41)(24.5/41)/40 + tau2 (100 + 900)/1600."""
    pieces = np.stack([N4, X4, np.zeros_like(N4)], axis=-1)
    pool = np.array([True, True, False, True])
    groups = np.array(["P", "Q", "P", "P"])
    lv = training._levels(pieces, LABELS, "rate", pool, groups)
    tau2 = _tau2_by_loop(N4, X4, [LABELS < 2, LABELS == 2], pool, groups)
    assert tau2 > 0
    want = _levels_by_loop(N4, X4, None, LABELS, "rate", tau2)
    assert lv.n_before.tolist() == [r[0] for r in want["before"]] == [40, 40, 20, 10]
    assert lv.n_after.tolist() == [40, 40, 20, 0]
    assert lv.n_half.tolist() == [[10, 30], [20, 20], [10, 10], [5, 5]]
    assert lv.before[:3] == pytest.approx([0.4, 0.35, 0.5]) and lv.before[3] == pytest.approx(0.5)
    assert lv.after[:3] == pytest.approx([0.4, 0.3, 0.5]) and np.isnan(lv.after[3])
    assert lv.half.ravel().tolist() == pytest.approx([0.1, 0.5, 0.5, 0.2, 0.5, 0.5, 0.2, 0.8])
    assert lv.v_before == pytest.approx([r[2] for r in want["before"]])
    assert lv.v_before[0] == pytest.approx((16.5 / 41) * (24.5 / 41) / 40 + tau2 * 1000 / 1600)
    assert lv.v_after[:3] == pytest.approx([r[2] for r in want["after"]][:3])
    assert lv.v_half[:, 0] == pytest.approx([r[2] for r in want["h1"]])
    assert lv.v_half[:, 1] == pytest.approx([r[2] for r in want["h2"]])


def test_rate_successes_are_capped_at_trials_per_window():
    """A window with 7 connects logged on 5 dials reads 5/5 = 1, its variance from p~ = 5.5/6."""
    pieces = np.zeros((2, 4, 3))
    pieces[0, :, 0], pieces[0, :, 1] = [5, 5, 5, 5], [7, 1, 2, 2]  # first half over-counted
    pieces[1, :, 0], pieces[1, :, 1] = [5, 5, 5, 5], [1, 1, 1, 1]
    lv = training._levels(pieces, LABELS, "rate", np.array([True, False]), np.array(["T", "T"]))
    assert lv.half[0].tolist() == pytest.approx([1.0, 0.2])
    assert lv.before[0] == pytest.approx(8 / 10)  # 7 + 1 = 8 of 10: no cap at the window level
    assert lv.v_half[0, 0] == pytest.approx((5.5 / 6) * (0.5 / 6) / 5)  # tau2 = 0 (one rep in the pool)


def test_log_levels_pool_the_within_variance_by_hand():
    """Log amounts: rep 0 before 1, 3 (sum 4, squares 10), after 2, 2, 5 (sum 9, squares 33); rep 1
    before 4 (one deal), after 1, 3; rep 2 (not in the pool) before 0, 10. Within sums of squares of
    the pool: rep 0 (10 - 16/2) + (33 - 81/3) = 2 + 6 = 8, rep 1 0 + (10 - 16/2) = 2; degrees of
    freedom (2-1) + (3-1) + 0 + (2-1) = 4: s2 = 10 / 4 = 2.5, var = s2 / n."""
    pieces = np.zeros((3, 4, 3))
    # bins: 0 first half, 1 second half, 2 and 3 after
    pieces[0] = [[1, 1, 1], [1, 3, 9], [2, 4, 8], [1, 5, 25]]
    pieces[1] = [[1, 4, 16], [0, 0, 0], [1, 1, 1], [1, 3, 9]]
    pieces[2] = [[1, 0, 0], [1, 10, 100], [0, 0, 0], [0, 0, 0]]
    lv = training._levels(pieces, LABELS, "log", np.array([True, True, False]), np.array(["T", "T", "T"]))
    assert lv.before.tolist() == pytest.approx([2.0, 4.0, 5.0])
    assert lv.after[:2].tolist() == pytest.approx([3.0, 2.0]) and np.isnan(lv.after[2])
    assert lv.v_before.tolist() == pytest.approx([2.5 / 2, 2.5 / 1, 2.5 / 2])
    assert lv.v_after[:2].tolist() == pytest.approx([2.5 / 3, 2.5 / 2])
    assert lv.v_half[0].tolist() == pytest.approx([2.5, 2.5]) and np.isinf(lv.v_half[1, 1])
    # one deal per rep and window: no degree of freedom, no variance (NaN, not 0)
    single = np.zeros((2, 4, 3))
    single[:, 0], single[:, 2] = [1, 2, 4], [1, 3, 9]
    lv = training._levels(single, LABELS, "log", np.array([True, True]), np.array(["T", "T"]))
    assert np.isnan(lv.v_before).all() and np.isnan(lv.v_after).all()


def test_usable_needs_trials_in_both_halves_and_after():
    pieces = np.zeros((5, 4, 3))
    pieces[:, :, 0] = [[1, 1, 1, 0], [0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 1]]
    lv = training._levels(pieces, LABELS, "rate", np.ones(5, dtype=bool), np.array(["T"] * 5))
    assert training._usable(lv).tolist() == [True, False, False, False, True]


def test_matched_controls_nearest_in_team_ties_to_the_earlier_rep():
    teams = np.array(["T", "T", "T", "T", "U", "U"])
    level = np.array([0.5, 0.75, 0.25, 1.0, 0.5, 0.625])  # exact in binary: ties are ties
    cand = np.array([1, 2, 3, 4, 5])
    # rep 0 (T): team candidates 1, 2, 3 at distances 0.25, 0.25, 0.5: 1 and 2 (the tie in rep order)
    controls, valid, fell_back = training._matched(np.array([0]), cand, teams, level, 2, 2)
    assert controls.tolist() == [[1, 2]] and valid.tolist() == [[True, True]] and fell_back.tolist() == [False]
    # k larger than the team: only 3 valid entries
    controls, valid, fell_back = training._matched(np.array([0]), cand, teams, level, 4, 3)
    assert controls[0][valid[0]].tolist() == [1, 2, 3] and valid.tolist() == [[True, True, True, False]]
    assert fell_back.tolist() == [False]
    # team needs 4 candidates: the floor's nearest three: 4 (0), 5 (0.125), then 1 (0.25, tied with 2: earlier)
    controls, valid, fell_back = training._matched(np.array([0]), cand, teams, level, 3, 4)
    assert controls.tolist() == [[4, 5, 1]] and fell_back.tolist() == [True] and valid.all()
    # a treated rep among the candidates is never its own control
    # rep 1 (T, 0.75): 3 (0.25) then 2 (0.5); rep 4 (U, 0.5): only 5 in its team (a minimum of 1 is met)
    controls, valid, fell_back = training._matched(np.array([1, 4]), cand, teams, level, 2, 1)
    assert controls[0].tolist() == [3, 2] and controls[1][valid[1]].tolist() == [5]
    assert valid.tolist() == [[True, True], [True, False]] and fell_back.tolist() == [False, False]


def test_difference_in_differences_and_its_standard_error_by_hand():
    """Rep 0 against controls 1 and 2 (3 is not valid): change 0.5 - 0.2 = 0.3, controls 0.1 and 0.1:
    effect 0.3 - 0.1 = 0.2; se^2 = 0.01 + 0.02 + ((0.03 + 0.04) + (0.05 + 0.06)) / 2^2 = 0.075;
    pre-trend (0.3 - 0.1) - ((0.2 - 0.2) + (0.4 - 0.1)) / 2 = 0.05,
    se_pre^2 = (0.001 + 0.002) + ((0.003 + 0.004) + (0.005 + 0.006)) / 4 = 0.0075."""
    lv = training._Levels(
        n_before=np.ones(4), n_after=np.ones(4), n_half=np.ones((4, 2)),
        before=np.array([0.2, 0.3, 0.5, 9.0]), after=np.array([0.5, 0.4, 0.6, 0.0]),
        half=np.array([[0.1, 0.3], [0.2, 0.2], [0.1, 0.4], [9.0, 0.0]]),
        v_before=np.array([0.01, 0.03, 0.05, 9.0]), v_after=np.array([0.02, 0.04, 0.06, 9.0]),
        v_half=np.array([[0.001, 0.002], [0.003, 0.004], [0.005, 0.006], [9.0, 9.0]]))
    # a second treated rep, 1, against control 2 alone: effect 0.1 - 0.1 = 0, se^2 = 0.07 + 0.11 = 0.18,
    # pre (0.2 - 0.2) - (0.4 - 0.1) = -0.3, se_pre^2 = 0.007 + 0.011 = 0.018
    effect, se, pre, se_pre = training._did(lv, np.array([0, 1]), np.array([[1, 2, 3], [2, 0, 3]]),
                                            np.array([[True, True, False], [True, False, False]]))
    assert effect.tolist() == pytest.approx([0.2, 0.0], abs=1e-12)
    assert se.tolist() == pytest.approx([np.sqrt(0.075), np.sqrt(0.18)])
    assert pre.tolist() == pytest.approx([0.05, -0.3])
    assert se_pre.tolist() == pytest.approx([np.sqrt(0.0075), np.sqrt(0.018)])


def test_critical_value_order_statistics():
    # 38 statistics, |.| = 1..38: ceil(0.95 x 39) = 38 -> the 38th; NaN ones are left out
    stats = np.concatenate([np.arange(1.0, 39.0) * np.where(np.arange(38) % 2 == 0, 1, -1), [np.nan, np.inf]])
    assert training._critical(stats, 0.95) == 38.0
    assert training._critical(np.arange(1.0, 10.0), 0.5) == 5.0  # ceil(0.5 x 10) = 5th
    assert training._critical(np.array([7.0, -3.0]), 0.3) == 3.0  # ceil(0.3 x 3) = 1st: the smallest |.|
    assert training._critical(np.arange(1.0, 10.0), 0.0) != training._critical(np.arange(1.0, 10.0), 0.0)  # k = 0
    assert np.isnan(training._critical(np.array([]), 0.95))


def test_labels_and_placebo_day_bins():
    assert training._labels([0, 1, 2, 3, 4], 2, 4).tolist() == [0, 0, 1, 1, 2]
    # an engine over 30 days, one rep with n = day index + 1 on each day
    days = pd.date_range(S0, periods=30, freq="D")
    ev = pd.DataFrame({"rep_id": "r", "at": days, "n": np.arange(1.0, 31.0), "x": 1.0, "xx": 0.0}).astype(
        {"rep_id": "str", "at": US})
    eng = training._Engine(ev, np.array(["r"]), S0 + pd.Timedelta(hours=5), S0 + 30 * DAY + pd.Timedelta(hours=5))
    assert (eng.start, eng.end, eng.days) == (S0, S0 + 30 * DAY, 30)
    # placebo at day 14, length 14: bins [0, 7) [7, 14) [14, 21) [21, 28): n sums 28, 77, 126, 175
    pieces, labels = eng.day_pieces(14, 14)
    assert pieces[0, :, 0].tolist() == [28.0, 77.0, 126.0, 175.0] and labels.tolist() == [0, 1, 2, 2]
    # length 15 (odd), placebo at day 15: halves split at 15 - 7 = day 8; weekly bounds back from day 15
    # (8, 1) and on (22, 29), with the window's ends 0 and 30: bins [0,1) [1,8) [8,15) [15,22) [22,29) [29,30)
    pieces, labels = eng.day_pieces(15, 15)
    assert labels.tolist() == [0, 0, 1, 2, 2, 2]
    assert pieces[0, :, 0].tolist() == [sum(range(1, 2)), sum(range(2, 9)), sum(range(9, 16)), sum(range(16, 23)),
                                        sum(range(23, 30)), sum(range(30, 31))]


def test_exact_pieces_cut_at_the_training_moment():
    """Events at noon every day; training on day 14 at 13:00: the day-14 noon event is before it."""
    days = pd.date_range(S0 + pd.Timedelta(hours=12), periods=28, freq="D")
    ev = pd.DataFrame({"rep_id": ["r"] * 28 + ["zz"], "at": list(days) + [S0], "n": [1.0] * 28 + [99.0],
                       "x": 0.0, "xx": 0.0}).astype({"rep_id": "str", "at": US})
    eng = training._Engine(ev, np.array(["r", "s"]), S0, S0 + 28 * DAY)
    t = S0 + 14 * DAY + pd.Timedelta(hours=13)
    pieces, labels = eng.exact_pieces(t, 14)
    # bounds: day 0, day 7 (the halves' split, 14 - 7, and a week back), t, 21, 28:
    # bins [0,7) [7, t) [t, 21) [21, 28) with the noon events of days 0-6, 7-14, 15-20, 21-27
    assert pieces[0, :, 0].tolist() == [7.0, 8.0, 6.0, 7.0] and labels.tolist() == [0, 1, 2, 2]
    assert pieces[1].sum() == 0.0  # rep s has nothing; zz is not a rep
    # an event exactly at t is after; one at day 28 (the after window's end) is out
    ev2 = pd.DataFrame({"rep_id": "r", "at": [t, S0 + 28 * DAY, S0 - pd.Timedelta(seconds=1)], "n": 1.0, "x": 0.0,
                        "xx": 0.0}).astype({"rep_id": "str", "at": US})
    pieces, _ = training._Engine(ev2, np.array(["r"]), S0, S0 + 40 * DAY).exact_pieces(t, 14)
    assert pieces[0, :, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
    # the engine's day grid keeps [start, end): day 28 and a second before day 0 are not in it
    assert training._Engine(ev2, np.array(["r"]), S0, S0 + 28 * DAY).cum[0, -1, 0] == 1.0


def test_fmt():
    assert training._fmt(0.1234, False) == "0.123" and training._fmt(0.1234, False, True) == "+0.123"
    assert training._fmt(1234.4, True) == "1,234" and training._fmt(-0.25, True, True) == "-25%"
    assert training._fmt(np.nan, True) == "n/a" and training._fmt(np.inf, False) == "n/a"


# ---------------------------------------------------------------------------------------
# events and the dataset level


def _activity_dataset(acts, as_of=pd.Timestamp("2026-06-01")):
    import ibis

    from salesx2lib.dataset import Dataset

    a = pd.DataFrame(acts, columns=["activity_id", "rep_id", "occurred_at", "activity_type"]).astype({"occurred_at": US})
    a = a.assign(opportunity_id=pd.Series(None, index=a.index, dtype="str"))
    reps = pd.DataFrame({"rep_id": ["t", "u"], "rep_name": ["t", "u"], "team": "T", "manager": "M"}).astype("str")
    opps = pd.DataFrame({c: pd.Series(dtype="str") for c in ["opportunity_id", "rep_id", "status", "stage"]}).assign(
        created_at=pd.Series(dtype=US), closed_at=pd.Series(dtype=US), expected_close_date=pd.Series(dtype=US),
        amount=pd.Series(dtype="float64"))
    return Dataset(tables={"reps": reps, "opportunities": opps}, activities=ibis.memtable(a), as_of=as_of)


def _sorted(events: pd.DataFrame) -> list[tuple]:
    return sorted(events.itertuples(index=False, name=None))


def test_activity_events_split_a_day_at_each_training_moment():
    """Rep t on 4 May: dial + conversation at 09:00, a dial at 11:00, dial + conversation at 15:00; a dial on
    5 May. Rep u: a dial at 12:00. Trainings at 10:00 and 14:00 on 4 May (and one at midnight of 5 May,
    which cuts nothing): t's day in three pieces [00:00, 10:00) 1 of 1, [10:00, 14:00) 0 of 1,
    [14:00, 24:00) 1 of 1; u's dial in [10:00, 14:00); empty pieces dropped."""
    d = pd.Timestamp("2026-05-04")
    h = pd.Timedelta(hours=1)
    acts = [("a1", "t", d + 9 * h, "dial"), ("a2", "t", d + 9 * h, "conversation"), ("a3", "t", d + 11 * h, "dial"),
            ("a4", "t", d + 15 * h, "dial"), ("a5", "t", d + 15 * h, "conversation"), ("a6", "u", d + 12 * h, "dial"),
            ("a7", "t", d + 33 * h, "dial")]
    ds = _activity_dataset(acts)
    events = training.competency_events(ds, "connect_rate", [d + 10 * h, d + 14 * h, d + DAY])
    assert events.columns.tolist() == ["rep_id", "at", "n", "x", "xx"]
    assert events.dtypes.astype(str).tolist() == ["str", US, "float64", "float64", "float64"]
    assert events.index.tolist() == list(range(5))
    assert _sorted(events) == [("t", d, 1.0, 1.0, 0.0), ("t", d + 10 * h, 1.0, 0.0, 0.0), ("t", d + 14 * h, 1.0, 1.0, 0.0),
                               ("t", d + DAY, 1.0, 0.0, 0.0), ("u", d + 10 * h, 1.0, 0.0, 0.0)]


def _deal_dataset(rows, reps=("t", "a", "b", "c"), trainings=None, as_of=None):
    from salesx2lib.dataset import Dataset

    opps = pd.DataFrame(
        [(f"o{i}", rep, created, 100.0 if amount is None else amount, "Closed Won" if st == "won" else "Proposal", st,
          created + 20 * DAY, created + 10 * DAY if st != "open" else pd.NaT)
         for i, (rep, created, st, amount) in enumerate(rows)],
        columns=["opportunity_id", "rep_id", "created_at", "amount", "stage", "status", "expected_close_date",
                 "closed_at"]).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "stage": "str",
                                       "status": "str", "expected_close_date": US, "closed_at": US})
    rep_frame = pd.DataFrame({"rep_id": list(reps), "rep_name": list(reps), "team": "T", "manager": "M"}).astype("str")
    tables = {"reps": rep_frame, "opportunities": opps}
    if trainings is not None:
        tables["trainings"] = trainings
    return Dataset(tables=tables, activities=None, as_of=as_of or AS_OF)


def test_deal_events_by_hand():
    d = pd.Timestamp("2026-03-02 10:00")
    ds = _deal_dataset([("t", d, "won", 100.0), ("t", d + DAY, "lost", 50.0), ("a", d, "open", 70.0),
                        ("a", d + DAY, "won", 0.0), ("a", d + 2 * DAY, "won", np.e), ("b", d, "won", 0.5)])
    win = training.competency_events(ds, "win_rate")
    # open deals are left out: t won (1 of 1), t lost (0 of 1), a's two won
    assert _sorted(win) == [("a", d + DAY, 1.0, 1.0, 0.0), ("a", d + 2 * DAY, 1.0, 1.0, 0.0), ("b", d, 1.0, 1.0, 0.0),
                            ("t", d, 1.0, 1.0, 0.0), ("t", d + DAY, 1.0, 0.0, 0.0)]
    assert win.dtypes.astype(str).tolist() == ["str", US, "float64", "float64", "float64"]
    size = training.competency_events(ds, "deal_size")
    # won deals with a positive amount: log 100 = 4.605, log e = 1 and log 0.5 = -0.693 (a won deal of
    # amount 0 is out)
    got = _sorted(size)
    assert [r[:3] for r in got] == [("a", d + 2 * DAY, 1.0), ("b", d, 1.0), ("t", d, 1.0)]
    assert [r[3:] for r in got] == [pytest.approx((1.0, 1.0)), pytest.approx((np.log(0.5), np.log(0.5) ** 2)),
                                    pytest.approx((np.log(100.0), np.log(100.0) ** 2))]
    assert size.index.tolist() == [0, 1, 2]


def _win_rate_floor(t_won, t_open=0):
    """10 deals created a day (10:00) by each of t, a, b, c on days 0..69: a, b, c win 3; t wins
    ``t_won(day)``, the rest lost; t also leaves ``t_open`` deals open on day 40."""
    rows = []
    for rep in ("t", "a", "b", "c"):
        for d in range(70):
            won = t_won(d) if rep == "t" else 3
            rows += [(rep, S0 + d * DAY + pd.Timedelta(hours=10), "won" if k < won else "lost", None) for k in range(10)]
    rows += [("t", S0 + 40 * DAY, "open", None)] * t_open
    return rows


def test_training_effects_on_deals_by_hand():
    """The win-rate floor as a dataset: the data starts on day 0 (the first deal), t's 140 decided deals
    before the training at 0.2 and after at 0.5, the three others at 0.3 (controls a, b, c: default 5
    wanted, 3 in the team, 3 needed); 21 placebo statistics of 0. 35 open deals of t in the after window:
    35 of 175 created = 20%: warned (34 of 174 is under 20%: not)."""
    trainings = _training(competency="win_rate")
    ds = _deal_dataset(_win_rate_floor(lambda d: 2 if d < 35 else 5, t_open=35), trainings=trainings)
    out = training.training_effects(ds, weeks=2)
    assert out.dtypes.astype(str).tolist() == list(training._COLUMNS.values())
    row = out.iloc[0]
    assert (row["competency"], row["metric"], row["window_days"], row["controls"]) == ("win_rate", "win_rate", 14,
                                                                                       "a, b, c")
    assert (row["rep_before"], row["rep_after"], row["effect"]) == pytest.approx((0.2, 0.5, 0.3))
    assert (row["rep_n_before"], row["rep_n_after"], row["n_placebos"]) == (140, 140, 21)
    assert row["verdict"] == "improved" and row["p_value"] == pytest.approx(1 / 22)
    assert row["warning"] == "35 of the rep's deals created after the training are still open"
    assert "(140 and 140 decided deals); 3 matched untrained reps (team)" in row["sentence"]
    ds = _deal_dataset(_win_rate_floor(lambda d: 2 if d < 35 else 5, t_open=34), trainings=trainings)
    assert training.training_effects(ds, weeks=2).iloc[0]["warning"] == ""
    # the settings' window: 8 weeks do not fit (35 days of data before): cut to 35 days, and then the
    # only placebo date is day 35 itself (35 + 35 = 70): 3 statistics
    row = training.training_effects(ds).iloc[0]
    assert row["window_days"] == 35
    assert row["warning"] == ("the data holds only 35 days on one side of the training: windows cut to that; "
                              "only 3 placebo trainings to calibrate the interval (need 19)")


def test_placebo_trainings_measured_on_deals():
    """Placebos at the training's date for the never-trained a, b, c: each against the other two
    (t is trained), effect 0, t-statistic 0: p = 22/22, no clear change."""
    trainings = _training(competency="win_rate")
    ds = _deal_dataset(_win_rate_floor(lambda d: 2 if d < 35 else 5), trainings=trainings)
    placebos = training.placebo_trainings(ds, competencies=["win_rate"])
    assert placebos.values.tolist() == [["a", "win_rate", D], ["b", "win_rate", D], ["c", "win_rate", D]]
    out = training.training_effects(ds, weeks=2, placebos=placebos)
    assert out["rep_id"].tolist() == ["a", "b", "c"]
    assert out["controls"].tolist() == ["b, c", "a, c", "a, b"]
    assert out["verdict"].tolist() == ["no_clear_change"] * 3
    assert out["n_placebos"].tolist() == [21] * 3 and out["p_value"].tolist() == pytest.approx([1.0] * 3)
    assert out["effect"].tolist() == pytest.approx([0.0] * 3, abs=1e-12)


def test_placebo_trainings_table():
    trainings = pd.concat([_training(), _training(rep="a", when=D + DAY)], ignore_index=True)
    ds = _deal_dataset([("t", S0, "won", None)], reps=("t", "a", "b", "c"), trainings=trainings)
    p = training.placebo_trainings(ds)
    assert p.columns.tolist() == ["rep_id", "competency", "completed_at"]
    assert p.dtypes.astype(str).tolist() == ["str", "str", US]
    # never-trained b and c x the two real dates (sorted) x the five competencies, date first
    names = list(training.COMPETENCY_METRICS)
    assert p.values.tolist() == [[r, c, w] for w in (D, D + DAY) for r in ("b", "c") for c in names]
    q = training.placebo_trainings(ds, dates=[D + 2 * DAY, D, D], competencies=["deal_size"])
    assert q.values.tolist() == [["b", "deal_size", D], ["c", "deal_size", D], ["b", "deal_size", D + 2 * DAY],
                                 ["c", "deal_size", D + 2 * DAY]]


def test_training_effects_of_no_known_training_is_an_empty_typed_table():
    ds = _deal_dataset([("t", S0, "won", None)], trainings=_training().iloc[:0])
    out = training.training_effects(ds)
    assert out.columns.tolist() == list(training._COLUMNS) and len(out) == 0
    assert out.dtypes.astype(str).tolist() == list(training._COLUMNS.values())


def test_data_start():
    ds = _deal_dataset([("t", S0 + 3 * DAY + pd.Timedelta(hours=10), "won", None), ("a", S0 + 5 * DAY, "won", None)])
    assert training._data_start(ds) == S0 + 3 * DAY  # the first deal's creation day
    empty = _deal_dataset([])
    assert training._data_start(empty) == AS_OF
    acts = _activity_dataset([("a1", "t", S0 + pd.Timedelta(days=2, hours=9), "dial"),
                              ("a2", "u", S0 + pd.Timedelta(days=4, hours=9), "dial")])
    assert training._data_start(acts) == S0 + 2 * DAY  # the activity log's first day
    # an activity log with no row: the deals' first day
    no_rows = _activity_dataset([])
    with_deals = type(no_rows)(tables=ds.tables, activities=no_rows.activities, as_of=AS_OF)
    assert training._data_start(with_deals) == S0 + 3 * DAY


# ---------------------------------------------------------------------------------------
# the calibration itself: placebo statistics against a plain loop


# connects a day (of 10 dials; lo dials 1 a day and connects 0 or 1) in each of the 10 weeks
WEEKLY = {
    "t": [3, 3, 4, 3, 3, 6, 5, 6, 5, 6],
    "a": [3, 4, 3, 4, 2, 3, 4, 3, 3, 4],
    "b": [5, 5, 6, 4, 5, 6, 5, 5, 4, 6],
    "c": [2, 3, 2, 2, 3, 1, 2, 3, 2, 2],
    "e": [4, 4, 5, 5, 4, 4, 6, 4, 5, 5],
    "f": [6, 5, 5, 6, 7, 6, 5, 7, 6, 6],
    "lo": [1, 0, 1, 1, 0, 1, 0, 1, 1, 0],
}
TEAMS = {"t": "T", "a": "T", "b": "T", "c": "T", "e": "T", "f": "U", "lo": "T"}


def _weekly_world():
    rows = [(rep, S0 + d * DAY, 1.0 if rep == "lo" else 10.0, float(w[d // 7]), 0.0) for rep, w in WEEKLY.items()
            for d in range(70)]
    events = pd.DataFrame(rows, columns=["rep_id", "at", "n", "x", "xx"]).astype({"rep_id": "str", "at": US})
    reps = pd.DataFrame({"rep_id": list(WEEKLY), "team": [TEAMS[r] for r in WEEKLY]}).astype("str")
    return events, reps


def _stats_by_loop(d0, treated_reps, pool_reps, k=2, min_team=2, min_size=None):
    """effect, se, pre, se_pre of each treated rep at a training at midnight of day d0 (multiple of 7),
    window 14 days: weeks [d0-14, d0-7) and [d0-7, d0) (the halves), [d0, d0+7) and [d0+7, d0+14)."""
    ids = list(WEEKLY)
    weeks = [(d0 - 14) // 7 + j for j in range(4)]
    n = np.array([[(1.0 if r == "lo" else 10.0) * 7 for _ in weeks] for r in ids])
    x = np.array([[WEEKLY[r][w] * 7.0 for w in weeks] for r in ids])
    labels = np.array([0, 1, 2, 2])
    pool = np.array([r in pool_reps for r in ids])
    tau2 = _tau2_by_loop(n, x, [labels < 2, labels == 2], pool, np.array([TEAMS[r] for r in ids]))
    lv = _levels_by_loop(n, x, None, labels, "rate", tau2)
    level = {w: {r: lv[w][i][1] for i, r in enumerate(ids)} for w in lv}
    var = {w: {r: lv[w][i][2] for i, r in enumerate(ids)} for w in lv}
    out = {}
    for r in treated_reps:
        if min_size is not None and min(n[ids.index(r)][:2].sum(), n[ids.index(r)][2:].sum()) < min_size / 2:
            continue
        cands = [c for c in ids if c in pool_reps and c != r]
        same = [c for c in cands if TEAMS[c] == TEAMS[r]]
        use = same if len(same) >= min_team else cands
        ctl = sorted(use, key=lambda c: (abs(level["before"][r] - level["before"][c]), ids.index(c)))[:k]
        m = len(ctl)
        eff = (level["after"][r] - level["before"][r]) - sum(level["after"][c] - level["before"][c] for c in ctl) / m
        se = np.sqrt(var["after"][r] + var["before"][r] + sum(var["after"][c] + var["before"][c] for c in ctl) / m**2)
        pre = (level["h2"][r] - level["h1"][r]) - sum(level["h2"][c] - level["h1"][c] for c in ctl) / m
        se_pre = np.sqrt(var["h1"][r] + var["h2"][r] + sum(var["h1"][c] + var["h2"][c] for c in ctl) / m**2)
        out[r] = (eff, se, pre, se_pre, ctl)
    return out


def test_interval_and_p_value_are_calibrated_on_placebo_statistics_computed_by_loop():
    """t trained on day 35 (connects 3-4 a day before, 5-6 after). Placebo reps: the never-trained a, b,
    c, e, f, lo at days 14, 21, ..., 56; lo (14 dials a window) is a placebo rep only when half the
    minimum is at most 14. q = the ceil(0.95 (N + 1))-th smallest |t|; ci = effect +- q se;
    p = (1 + #{|t_placebo| >= |t|}) / (N + 1)."""
    events, reps = _weekly_world()
    untrained = ["a", "b", "c", "e", "f", "lo"]
    for min_trials, placebo_reps in ((30, untrained[:-1]), (28, untrained)):
        ts, tps = [], []
        for d0 in range(14, 57, 7):
            for eff, se, pre, se_pre, _ in _stats_by_loop(d0, placebo_reps, untrained).values():
                ts.append(eff / se)
                tps.append(pre / se_pre)
        ts, tps = np.abs(ts), np.abs(tps)
        q = np.sort(ts)[int(np.ceil(0.95 * (len(ts) + 1))) - 1]
        q_pre = np.sort(tps)[int(np.ceil(0.95 * (len(tps) + 1))) - 1]
        eff, se, pre, se_pre, ctl = _stats_by_loop(35, ["t"], untrained + ["t"])["t"]
        # the trained rep's tau2 pools it with the eligible reps: t is in the pool of its own levels
        s = replace(SETTINGS, training_min_trials=min_trials)
        row = _run(events, reps=reps, settings=s).iloc[0]
        assert row["n_placebos"] == len(ts) == 7 * len(placebo_reps)
        assert row["controls"] == ", ".join(ctl)
        assert row["effect"] == pytest.approx(eff)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((eff - q * se, eff + q * se))
        assert row["p_value"] == pytest.approx((1 + np.sum(ts >= abs(eff / se))) / (len(ts) + 1))
        assert row["pre_trend"] == pytest.approx(pre)
        assert (row["pre_trend_low"], row["pre_trend_high"]) == pytest.approx((pre - q_pre * se_pre, pre + q_pre * se_pre))
        assert q > 0 and q_pre > 0
        # the interval holds 0 (effect 0.275, interval about -0.03 to 0.58): no clear change; pre-trend passed
        assert (row["verdict"], row["pre_trend_check"]) == ("no_clear_change", "passed")
        assert eff - q * se < 0 < eff + q * se and pre - q_pre * se_pre < 0 < pre + q_pre * se_pre


def test_a_rep_idle_in_half_of_the_before_window_is_not_checked_for_a_pre_trend():
    """t makes no dial on days 21..27 (the first half of the before window) and 10 a day otherwise:
    70 dials before (14 connects: 0.2), 140 after (0.5): effect 0.3, improved; no pre-trend."""
    events = _rate_world(lambda d: 0 if 21 <= d < 28 else 2 if d < 35 else 5, t_n=lambda d: 0 if 21 <= d < 28 else 10)
    row = _run(events).iloc[0]
    assert (row["rep_n_before"], row["rep_n_after"], row["verdict"]) == (70, 140, "improved")
    assert row["effect"] == pytest.approx(0.3) and row["pre_trend_check"] == "not_checked"
    assert np.isnan(row["pre_trend"]) and np.isnan(row["pre_trend_low"]) and np.isnan(row["pre_trend_high"])
    assert row["sentence"].endswith("improved more than comparable untrained reps. Pre-trend not checked (no trials in "
                                    "a half of the before window).")


def test_several_trainings_are_sorted_and_warnings_joined():
    """The same rep trained on win rate and deal size at the same moment: rows by time, rep, then
    competency (deal_size before win_rate). At the settings' 8 weeks (cut to 35 days), 100 open deals
    of t among 450 created in [day 35, day 70): 100 >= 90 (20%): warned after the other notes."""
    trainings = pd.concat([_training(competency="win_rate"), _training(competency="deal_size")], ignore_index=True)
    ds = _deal_dataset(_win_rate_floor(lambda d: 2 if d < 35 else 5, t_open=100), trainings=trainings)
    out = training.training_effects(ds)
    assert out["competency"].tolist() == ["deal_size", "win_rate"] and out.index.tolist() == [0, 1]
    assert out.loc[1, "warning"] == ("the data holds only 35 days on one side of the training: windows cut to that; "
                                     "only 3 placebo trainings to calibrate the interval (need 19); "
                                     "100 of the rep's deals created after the training are still open")
    assert "still open" not in out.loc[0, "warning"]  # deal size is not warned about open deals


def test_levels_with_halves_of_several_weeks_and_small_windows():
    """Halves of two weekly bins each (labels 0, 0, 1, 1, 2, 2): tau2 pools the before and after windows
    only (a half is not a window of its own). Rep 2 has a single trial in the before window."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    n = np.array([[10, 30, 20, 10, 20, 20], [20, 20, 10, 30, 10, 30], [1, 0, 0, 0, 5, 5]], dtype="float64")
    x = np.array([[1, 15, 4, 6, 4, 12], [10, 4, 6, 6, 2, 9], [1, 0, 0, 0, 2, 3]], dtype="float64")
    pool = np.array([True, True, True])
    groups = np.array(["P", "Q", "R"])
    tau2 = _tau2_by_loop(n, x, [labels < 2, labels == 2], pool, groups)
    assert training._week_variance(n, x, [labels < 2, labels == 2], pool, groups) == pytest.approx(tau2)
    lv = training._levels(np.stack([n, x, np.zeros_like(n)], axis=-1), labels, "rate", pool, groups)
    want = _levels_by_loop(n, x, None, labels, "rate", tau2)
    assert lv.v_before == pytest.approx([r[2] for r in want["before"]])
    assert lv.v_half[:2, 0] == pytest.approx([r[2] for r in want["h1"]][:2])
    # an empty first window for everyone does not stop the second from counting
    first_empty = [np.array([False] * 6), labels == 2]
    got = training._week_variance(n, x, first_empty, pool, groups)
    assert got == pytest.approx(_tau2_by_loop(n, x, first_empty, pool, groups)) and got > 0


def test_log_levels_with_a_pool_rep_missing_a_window():
    """Rep 1 (in the pool) has no deal after: its empty window adds nothing to the within sum of squares
    and no degree of freedom. Rep 0: before 1, 3 (2 deals: df 1, squares 2), after 5 (df 0): s2 = 2 / 1."""
    pieces = np.zeros((2, 4, 3))
    pieces[0] = [[1, 1, 1], [1, 3, 9], [1, 5, 25], [0, 0, 0]]
    pieces[1] = [[1, 4, 16], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    lv = training._levels(pieces, LABELS, "log", np.array([True, True]), np.array(["T", "T"]))
    assert lv.v_before.tolist() == pytest.approx([2.0 / 2, 2.0 / 1])
    assert lv.v_after[0] == pytest.approx(2.0) and np.isinf(lv.v_after[1])


def test_deal_size_pre_trend_is_reported_relative():
    """As the deal-size world, with t's deals 0.2 larger in log in the second half of the before window
    (days 28..34): before mean log 2.1, after 2.5: effect exp(0.4) - 1; pre-trend exp(0.2) - 1 = +22%,
    its interval [+22%, +22%] excludes 0: failed."""
    rows = []
    for rep in ("t", "a", "b", "c"):
        for d in range(70):
            v = (1.0 if d % 2 == 0 else 3.0) + (0.5 if rep == "t" and d >= 35 else 0.2 if rep == "t" and d >= 28 else 0.0)
            rows.append((rep, S0 + d * DAY, 1.0, v, v * v))
    events = pd.DataFrame(rows, columns=["rep_id", "at", "n", "x", "xx"]).astype({"rep_id": "str", "at": US})
    row = _run(events, trainings=_training(competency="deal_size"), kind="log", trial_name="won deals").iloc[0]
    assert row["effect"] == pytest.approx(np.expm1(0.4))
    assert (row["pre_trend"], row["pre_trend_low"], row["pre_trend_high"]) == pytest.approx((np.expm1(0.2),) * 3)
    assert row["verdict"] == "pre_trend_failed" and "(pre-trend +22%, interval +22% to +22%)" in row["sentence"]


def test_several_trainings_in_one_call_each_with_its_own_placebos():
    """zz (not a rep) on day 30, t on day 35, c on day 37, in one call. Placebo reps: the never-trained
    a and b, each against the other. t (phase 0): days 14..56, 7 x 2 = 14 statistics; c (phase 2):
    days 16..51, 6 x 2 = 12; both fewer than 19. Rows by time: zz, t, c."""
    trainings = pd.concat([_training(rep="c", when=S0 + 37 * DAY), _training(rep="zz", when=S0 + 30 * DAY),
                           _training()], ignore_index=True)
    out = _run(_rate_world(lambda d: 2 if d < 35 else 5), trainings=trainings)
    assert out["rep_id"].tolist() == ["zz", "t", "c"]
    assert out["n_placebos"].tolist() == [0, 14, 12]
    assert out["warning"].tolist()[1:] == ["only 14 placebo trainings to calibrate the interval (need 19)",
                                           "only 12 placebo trainings to calibrate the interval (need 19)"]
    assert out["controls"].tolist() == ["", "a, b", "a, b"]


def test_a_single_untrained_rep_gives_no_placebo_statistic():
    """t and a alone: a is t's control, but a placebo needs two reps in the pool (a and a control):
    no placebo statistic at all, no interval."""
    row = _run(_rate_world(lambda d: 2 if d < 35 else 5, reps=("t", "a")), reps=_reps(ids=("t", "a")),
               settings=replace(SETTINGS, training_controls=1, training_min_team_controls=1)).iloc[0]
    assert (row["controls"], row["n_placebos"], row["verdict"]) == ("a", 0, "insufficient_data")
    assert row["warning"] == "only 0 placebo trainings to calibrate the interval (need 19)"
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert row["p_value"] == 1.0  # (1 + 0) / (0 + 1)
