"""The pipeline waterfall (salesx2lib.waterfall): every step by hand, every edge, the identity.

The week is S = Monday 16 November 2026 00:00 to E = Monday 23 November 00:00; the period
is Q4 2026 (1 October to 31 December). Deals are created, pushed, pulled in, re-priced,
won and lost before, exactly on, and after S, E and the period's edges. The expected
figures below are worked out by hand from the definitions in the module docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from salesx2lib import waterfall as wf
from salesx2lib.dataset import Dataset, MissingTableError
from salesx2lib.metrics import metric_table
from salesx2lib.pipeline import as_of as pipeline_as_of
from salesx2lib.settings import load_settings

from conftest import deal_frames

SETTINGS = load_settings()
S, E = pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-23")
OLD = "2026-10-05 10:00"  # well before the week

REPS = pd.DataFrame(
    {"rep_id": ["R1", "R2", "R3"], "rep_name": ["A", "B", "C"], "team": ["North", "South", "East"], "manager": ["M", "M", "M"]}
).astype("str")

DEALS: dict[str, tuple[str, str, list[tuple]]] = {
    # stays, unchanged
    "D01": ("R1", "open", [(OLD, "Proposal", 1000.0, "2026-12-10")]),
    # created exactly at S: in the pipeline at S, not new
    "D02": ("R1", "open", [("2026-11-16 00:00", "Qualification", 200.0, "2026-12-01")]),
    # created just after S: new
    "D03": ("R1", "open", [("2026-11-16 00:00:01", "Prospecting", 300.0, "2026-12-02")]),
    # created exactly at E: new (known at E)
    "D04": ("R2", "open", [("2026-11-23 00:00", "Prospecting", 400.0, "2026-12-03")]),
    # created after E: absent
    "D05": ("R2", "open", [("2026-11-23 00:00:01", "Prospecting", 999.0, "2026-12-03")]),
    # pushed out in the week
    "D06": ("R1", "open", [(OLD, "Proposal", 600.0, "2026-12-20"), ("2026-11-18 09:00", "Proposal", 600.0, "2027-01-10")]),
    # pushed out exactly at S: already out at the start, no movement
    "D07": ("R1", "open", [(OLD, "Proposal", 700.0, "2026-12-20"), ("2026-11-16 00:00", "Proposal", 700.0, "2027-01-10")]),
    # pushed out exactly at E: this week's
    "D08": ("R2", "open", [(OLD, "Proposal", 800.0, "2026-12-20"), ("2026-11-23 00:00", "Proposal", 800.0, "2027-01-10")]),
    # pulled in from next quarter
    "D09": ("R2", "open", [(OLD, "Proposal", 900.0, "2027-01-15"), ("2026-11-20 10:00", "Proposal", 900.0, "2026-12-05")]),
    # amount up
    "D10": ("R1", "open", [(OLD, "Proposal", 1000.0, "2026-12-10"), ("2026-11-17 10:00", "Proposal", 1500.0, "2026-12-10")]),
    # amount down (cents)
    "D11": ("R2", "open", [(OLD, "Proposal", 2000.0, "2026-12-10"), ("2026-11-17 10:00", "Negotiation", 1200.5, "2026-12-10")]),
    # won in the week for more than at S: amount_up 300 then won 1300
    "D12": ("R1", "won", [(OLD, "Negotiation", 1000.0, "2026-11-30"), ("2026-11-19 15:00", "Closed Won", 1300.0, "2026-11-19")]),
    # lost exactly at E
    "D13": ("R2", "lost", [(OLD, "Proposal", 500.0, "2026-12-10"), ("2026-11-23 00:00", "Closed Lost", 500.0, "2026-11-23")]),
    # won exactly at S: closed before the week, nowhere
    "D14": ("R1", "won", [(OLD, "Negotiation", 1400.0, "2026-11-20"), ("2026-11-16 00:00", "Closed Won", 1400.0, "2026-11-16")]),
    # won just after E: still open at E, in both start and end
    "D15": ("R2", "won", [(OLD, "Negotiation", 1500.0, "2026-11-25"), ("2026-11-23 00:00:01", "Closed Won", 1500.0, "2026-11-23")]),
    # created and won in the week: new then won
    "D16": ("R1", "won", [("2026-11-17 09:00", "Proposal", 160.0, "2026-11-30"), ("2026-11-20 09:00", "Closed Won", 170.0, "2026-11-20")]),
    # created in the week for next quarter: nowhere
    "D17": ("R1", "open", [("2026-11-18 09:00", "Prospecting", 1700.0, "2027-02-01")]),
    # expected next quarter at S, won in the week (close date now): pulled in then won
    "D18": ("R2", "won", [(OLD, "Proposal", 1800.0, "2027-01-15"), ("2026-11-21 09:00", "Closed Won", 1800.0, "2026-11-21")]),
    # period edges: 1 Jan (out) -> 31 Dec (in): pulled in
    "D19": ("R1", "open", [(OLD, "Proposal", 190.0, "2027-01-01"), ("2026-11-19 09:00", "Proposal", 190.0, "2026-12-31")]),
    # 1 Oct (the period's first day) is in; moved to 30 Sep (before the period): pushed out
    "D20": ("R2", "open", [(OLD, "Proposal", 210.0, "2026-10-01"), ("2026-11-19 09:00", "Proposal", 210.0, "2026-09-30")]),
    # amount unknown at S (counts 0), then 900: amount_up 900
    "D21": ("R1", "open", [(OLD, "Qualification", None, "2026-12-10"), ("2026-11-18 09:00", "Qualification", 900.0, "2026-12-10")]),
    # pushed out and cheaper at once: amount_down 200, pushed_out at 800
    "D22": ("R2", "open", [(OLD, "Proposal", 1000.0, "2026-12-15"), ("2026-11-19 09:00", "Proposal", 800.0, "2027-01-20")]),
    # lost before the week: nowhere
    "D23": ("R1", "lost", [(OLD, "Proposal", 2300.0, "2026-12-10"), ("2026-11-10 09:00", "Closed Lost", 2300.0, "2026-11-10")]),
}

# The sign of each step, from the documented equation (not read from the library):
# end = start + new + pulled_in - pushed_out + amount_up - amount_down - won - lost.
SIGN: dict[str, int] = {"start": 1, "new": 1, "pulled_in": 1, "pushed_out": -1, "amount_up": 1, "amount_down": -1,
                        "won": -1, "lost": -1, "end": 1}

# step -> {deal: unsigned amount}, by hand.
EXPECTED: dict[str, dict[str, float]] = {
    "start": {"D01": 1000, "D02": 200, "D06": 600, "D08": 800, "D10": 1000, "D11": 2000, "D12": 1000, "D13": 500,
              "D15": 1500, "D20": 210, "D21": 0, "D22": 1000},
    "new": {"D03": 300, "D04": 400, "D16": 170},
    "pulled_in": {"D09": 900, "D18": 1800, "D19": 190},
    "pushed_out": {"D06": 600, "D08": 800, "D20": 210, "D22": 800},
    "amount_up": {"D10": 500, "D12": 300, "D21": 900},
    "amount_down": {"D11": 799.5, "D22": 200},
    "won": {"D12": 1300, "D16": 170, "D18": 1800},
    "lost": {"D13": 500},
    "end": {"D01": 1000, "D02": 200, "D03": 300, "D04": 400, "D09": 900, "D10": 1500, "D11": 1200.5, "D15": 1500,
            "D19": 190, "D21": 900},
}


def _dataset(deals: dict = DEALS, as_of: str = "2026-11-25 12:00") -> Dataset:
    opps, hist = deal_frames(deals)
    return Dataset(tables={"reps": REPS, "opportunities": opps, "opportunity_history": hist}, activities=None, as_of=pd.Timestamp(as_of))


def test_every_step_by_hand() -> None:
    ds = _dataset()
    out = wf.waterfall(ds, E, SETTINGS)
    assert list(out.columns) == list(wf.WATERFALL_COLUMNS)
    assert out["team"].unique().tolist() == ["East", "North", "South", "all"]
    assert out.loc[out["team"] == "all", "step"].tolist() == list(SIGN)
    everyone = out.loc[out["team"] == "all"].set_index("step")
    for step, deals in EXPECTED.items():
        sign = SIGN[step]
        assert everyone.loc[step, "amount"] == pytest.approx(sign * sum(deals.values()), abs=1e-9), step
        assert everyone.loc[step, "n_deals"] == len(deals), step
    # The bounds.
    assert (out["from_date"] == S).all() and (out["to_date"] == E).all()
    assert (out["period_start"] == pd.Timestamp("2026-10-01")).all() and (out["period_end"] == pd.Timestamp("2026-12-31")).all()
    # East has no deal: a row of zeros per step.
    assert (out.loc[out["team"] == "East", ["amount", "n_deals"]] == 0).all().all()


def test_per_team_by_hand() -> None:
    out = wf.waterfall(_dataset(), E, SETTINGS).set_index(["team", "step"])
    rep_of = {k: v[0] for k, v in DEALS.items()}
    for team, rep in [("North", "R1"), ("South", "R2")]:
        for step, deals in EXPECTED.items():
            mine = sum(a for d, a in deals.items() if rep_of[d] == rep)
            assert out.loc[(team, step), "amount"] == pytest.approx(SIGN[step] * mine, abs=1e-9), (team, step)


def test_deal_table_explains_each_movement() -> None:
    deals = wf.waterfall_deals(_dataset(), E, SETTINGS)
    assert list(deals.columns) == list(wf.WATERFALL_DEAL_COLUMNS)
    got = {(r.opportunity_id, r.step): r.amount for r in deals.itertuples()}
    want = {(d, step): SIGN[step] * a for step, ds in EXPECTED.items() if step not in ("start", "end") for d, a in ds.items()}
    assert got.keys() == want.keys()
    for key, amount in want.items():
        assert got[key] == pytest.approx(amount, abs=1e-9), key
    why = deals.set_index(["opportunity_id", "step"])["explanation"]
    assert why[("D06", "pushed_out")] == "expected close 2026-12-20 -> 2027-01-10 (out of the period)"
    assert why[("D09", "pulled_in")] == "expected close 2027-01-15 -> 2026-12-05 (into the period)"
    assert why[("D11", "amount_down")] == "amount 2,000 -> 1,200.50"
    assert why[("D12", "won")] == "closed won 2026-11-19 at 1,300"
    assert why[("D03", "new")] == "created 2026-11-16, expected to close 2026-12-02, amount 300"
    # The deal table adds up to the waterfall.
    table = wf.waterfall(_dataset(), E, SETTINGS).set_index(["team", "step"])["amount"]
    sums = deals.groupby(["team", "step"])["amount"].sum()
    for (team, step), value in sums.items():
        assert table[(team, step)] == pytest.approx(value, abs=1e-9)


def test_default_as_of_is_the_weekly_rule_and_start_a_week_before() -> None:
    ds = _dataset(as_of="2026-11-25 12:00")  # a Wednesday: the rule gives Monday 23rd
    default = wf.waterfall(ds, settings=SETTINGS)
    pd.testing.assert_frame_equal(default, wf.waterfall(ds, E, SETTINGS, start=S))
    via_metrics = metric_table(ds, "waterfall", settings=SETTINGS)
    pd.testing.assert_frame_equal(via_metrics, default)
    assert metric_table(ds, "waterfall_deals", settings=SETTINGS)["opportunity_id"].nunique() > 0


def test_month_period_and_explicit_period() -> None:
    ds = _dataset()
    month = dict(__import__("dataclasses").asdict(SETTINGS), forecast_waterfall_period="month")
    s_month = type(SETTINGS)(**month)
    out = wf.waterfall(ds, E, s_month)
    assert (out["period_start"] == pd.Timestamp("2026-11-01")).all() and (out["period_end"] == pd.Timestamp("2026-11-30")).all()
    explicit = wf.waterfall(ds, E, SETTINGS, period_start="2026-11-01", period_end="2026-11-30")
    pd.testing.assert_frame_equal(out, explicit)
    # In November's pipeline at S: D12 (30 Nov), D14 is closed, D15 (25 Nov); D12 won, D15 stays.
    start = out.loc[(out["team"] == "all") & (out["step"] == "start")].iloc[0]
    assert start["amount"] == 2500 and start["n_deals"] == 2


def test_pipeline_period_edges() -> None:
    assert wf.pipeline_period("2026-10-01 00:00") == (pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30"))
    assert wf.pipeline_period("2026-10-01 00:00:00.000001") == (pd.Timestamp("2026-10-01"), pd.Timestamp("2026-12-31"))
    with pytest.raises(ValueError, match="quarter"):
        wf.pipeline_period("2026-10-01", "year")


def test_consecutive_weeks_chain_within_a_quarter() -> None:
    ds = _dataset()
    w1 = wf.waterfall(ds, S, SETTINGS).set_index(["team", "step"])
    w2 = wf.waterfall(ds, E, SETTINGS).set_index(["team", "step"])
    for team in ["North", "South", "all"]:
        assert w1.loc[(team, "end"), "amount"] == w2.loc[(team, "start"), "amount"]
        assert w1.loc[(team, "end"), "n_deals"] == w2.loc[(team, "start"), "n_deals"]


def test_errors() -> None:
    ds = _dataset()
    with pytest.raises(ValueError, match="before the as-of"):
        wf.waterfall(ds, E, SETTINGS, start=E)
    with pytest.raises(ValueError, match="before period start"):
        wf.waterfall(ds, E, SETTINGS, period_start="2026-12-01", period_end="2026-11-30")
    no_history = Dataset(tables={k: v for k, v in ds.tables.items() if k != "opportunity_history"}, activities=None, as_of=ds.as_of)
    with pytest.raises(MissingTableError, match="opportunity_history"):
        wf.waterfall(no_history)


# -- the identity, for any history ---------------------------------------------------

_T0 = pd.Timestamp("2026-10-20")
_EDGES = [S, E, S - pd.Timedelta(microseconds=1), E + pd.Timedelta(microseconds=1), S + pd.Timedelta(microseconds=1)]
_ECDS = [None, "2026-09-30", "2026-10-01", "2026-11-18", "2026-12-31", "2027-01-01", "2027-02-10"]


@st.composite
def histories(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 12))
    deals: dict[str, tuple[str, str, list[tuple]]] = {}
    for i in range(n):
        times = sorted(
            draw(
                st.lists(
                    st.one_of(
                        st.sampled_from(_EDGES),
                        st.integers(0, 40 * 24 * 3600).map(lambda s: _T0 + pd.Timedelta(seconds=s)),
                    ),
                    min_size=1,
                    max_size=5,
                )
            )
        )
        rows = []
        for t in times:
            cents = draw(st.one_of(st.none(), st.integers(0, 10_000_000)))
            rows.append((t, draw(st.sampled_from(["Prospecting", "Proposal"])), None if cents is None else cents / 100, draw(st.sampled_from(_ECDS))))
        status = draw(st.sampled_from(["open", "won", "lost"]))
        if status != "open":
            last = rows[-1]
            rows[-1] = (last[0], "Closed Won" if status == "won" else "Closed Lost", last[2], last[3])
        deals[f"X{i:02d}"] = (draw(st.sampled_from(["R1", "R2"])), status, rows)
    return deals


@pytest.mark.slow
@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_identity_holds_exactly(deals: dict) -> None:
    """end = start + new + pulled_in + amount_up - pushed_out - amount_down - won - lost, in cents.

    And start/end equal the pipeline read independently from :func:`salesx2lib.pipeline.as_of`.
    """
    ds = _dataset(deals, as_of="2026-12-31")
    out = wf.waterfall(ds, E, SETTINGS)
    for team, g in out.groupby("team"):
        c = dict(zip(g["step"], np.rint(g["amount"] * 100).astype("int64"), strict=True))
        assert c["start"] + c["new"] + c["pulled_in"] + c["amount_up"] + c["pushed_out"] + c["amount_down"] + c["won"] + c["lost"] == c["end"], team
        steps = g.set_index("step")
        assert steps.loc["lost", "level_after"] == steps.loc["end", "amount"]
    everyone = out.loc[out["team"] == "all"].set_index("step")
    opps = ds.opportunities
    hist = ds.table("opportunity_history")
    for when, step in [(S, "start"), (E, "end")]:
        state = pipeline_as_of(opps, hist, when)
        inside = (state["status"] == "open") & state["expected_close_date"].between(pd.Timestamp("2026-10-01"), pd.Timestamp("2026-12-31"))
        assert everyone.loc[step, "n_deals"] == int(inside.sum())
        assert round(everyone.loc[step, "amount"] * 100) == round(state.loc[inside, "amount"].fillna(0).mul(100).round().sum())


def test_waterfall_chart_draws_one_team_from_the_table() -> None:
    from salesx2lib.charts.forecast import WATERFALL_COLORS, waterfall_chart

    out = wf.waterfall(_dataset(), E, SETTINGS)
    spec = waterfall_chart(out.loc[out["team"] == "all"]).to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["y"]["field"] == "level_before" and bars["encoding"]["y2"]["field"] == "level_after"
    assert bars["encoding"]["x"]["sort"] == list(wf.STEPS)
    assert bars["encoding"]["color"]["scale"]["range"] == [WATERFALL_COLORS[s] for s in wf.STEPS]
    assert "01 Oct to 31 Dec 2026" in spec["title"]["subtitle"]
    with pytest.raises(ValueError, match="one team"):
        waterfall_chart(out)


def test_world_recovers_every_declared_story() -> None:
    """Declared truth (tests/worlds/waterfall.py): each deal's cents in each step.

    Three worlds of 400 deals, thirteen stories with events on and around S, E and the
    period's edges, plus noise after E: every team's every step must match to the cent and
    to the deal (measured: exact in all three).
    """
    from worlds.waterfall import E as W_END, S as W_START, waterfall_world

    for seed in range(3):
        world = waterfall_world(400, seed)
        out = wf.waterfall(world.dataset, W_END, SETTINGS, start=W_START)
        deals = wf.waterfall_deals(world.dataset, W_END, SETTINGS, start=W_START)
        truth = world.truth
        for team, g in [*truth.groupby("team"), ("all", truth)]:
            rows = out.loc[out["team"] == team].set_index("step")
            for step, sign in SIGN.items():
                assert round(rows.loc[step, "amount"] * 100) == sign * int(g[step].sum()), (seed, team, step)
                assert rows.loc[step, "n_deals"] == int(g[f"in_{step}"].sum()), (seed, team, step)
        moved = {(r.opportunity_id, r.step) for r in deals.itertuples()}
        declared = {(o, s) for s in wf.STEPS if s not in ("start", "end") for o in truth.loc[truth[f"in_{s}"], "opportunity_id"]}
        assert moved == declared


def test_waterfall_period_setting(tmp_path) -> None:
    from salesx2lib.problems import DataError

    path = tmp_path / "settings.toml"
    path.write_text('[forecast]\nwaterfall_period = "month"\n', encoding="utf-8")
    assert load_settings(path).forecast_waterfall_period == "month"
    assert SETTINGS.forecast_waterfall_period == "quarter"
    path.write_text('[forecast]\nwaterfall_period = "year"\n', encoding="utf-8")
    with pytest.raises(DataError, match="waterfall_period"):
        load_settings(path)
