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


def _rate_world(t_x, reps=("t", "a", "b", "c")) -> pd.DataFrame:
    """10 dials a day for every rep on days 0..69; ``t`` connects ``t_x(day)``, the others 3."""
    rows = [(rep, S0 + d * DAY, 10.0, float(t_x(d) if rep == "t" else 3), 0.0) for rep in reps for d in range(70)]
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
    assert (row["window_days"], row["n_control_reps"], row["n_placebos"], row["rep_n_before"]) == (14, 0, 0, 0)
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
