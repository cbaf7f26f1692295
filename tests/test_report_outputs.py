"""The weekly report's numbers, checked: the same figures by two paths.

The report runs once (module fixture, ~35 s) for team Atlas and the week of Monday
16 November 2026 of ``data/sample``, the committed sample, whose forecasts, history and
quotas exercise every section. ``tests/test_report.py`` runs the real template on a
tiny hand-written folder without forecasts or history, so its run cannot show a rolling
forecast, a scrub list or horizon figures; this module adds the one run that can.

What the report shows is then compared with what ``salesx2 metrics`` gives for the same
team and as-of (``salesx2lib.metrics.metric_table``, the function behind the command),
and, where no metrics table holds the figure (won revenue, the prorated quota, the
commit), with plain pandas over the sample's own files, written here:

* ``Atlas.json``'s headline KPIs against the ``activity`` table and the raw files, the
  Wilson interval against statsmodels;
* the headline table of the notebook (and of the HTML page) against the JSON;
* the rolling forecast (the total and the per-rep table) against the ``rolling`` table
  at the weekly rule's as-of, the commit against the forecasts file;
* the scrub list against the ``scrub`` table;
* the coaching actions against the ``coaching`` table, the backed-off reps against the
  ``segments`` table;
* the segment table and the segment map against the ``segments`` table;
* the horizon chart (its SVG's data labels) against the ``horizon`` and ``cycle`` tables;
* the team funnel chart against the ``funnel`` table pooled over the team's reps.

The dates are written out, not computed with the library: the report week is 16 to 22
November; the weekly rule's as-of is Monday 23 November 00:00 (the data ends on Sunday
22 November 19:57); the segments and milestones are as of the week's Sunday; the
trailing quarter starts 12 weeks before the week, on 24 August.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from statsmodels.stats.proportion import proportion_confint

from salesx2lib import report
from salesx2lib.dataset import Dataset
from salesx2lib.load import load_dataset
from salesx2lib.metrics import metric_table

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
TEAM = "Atlas"
WEEK = pd.Timestamp("2026-11-16")  # Monday
NEXT_MONDAY = pd.Timestamp("2026-11-23")  # the weekly rule's as-of, and the week's exclusive end
SUNDAY = pd.Timestamp("2026-11-22")  # segments and milestones are as of the week's Sunday
QUARTER_START = pd.Timestamp("2026-08-24")  # 12 weeks before the report week
TRAILING = 4  # the settings' trailing_weeks (default)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> report.ReportResult:
    out = tmp_path_factory.mktemp("reports")
    result = report.run_report(SAMPLE, out, week=WEEK.date().isoformat(), teams=[TEAM], progress=None)
    assert result.ok, result.teams
    return result


@pytest.fixture(scope="module")
def notebook(run: report.ReportResult) -> Any:
    return nbformat.read(run.folder / f"{TEAM}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def record(run: report.ReportResult) -> dict[str, Any]:
    return json.loads((run.folder / f"{TEAM}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def team_reps() -> pd.DataFrame:
    reps = pd.read_csv(SAMPLE / "reps.csv")
    return reps.loc[reps["team"] == TEAM]


@pytest.fixture(scope="module")
def segments_table(dataset: Dataset) -> pd.DataFrame:
    return metric_table(dataset, "segments", team=TEAM, as_of=SUNDAY)


# ----------------------------------------------------------------------------- helpers


def _outputs(nb: Any, snippet: str) -> list[Any]:
    """The outputs of the one code cell whose source contains ``snippet``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(cells) == 1, snippet
    assert not [o for o in cells[0].outputs if o.output_type == "error"]
    return cells[0].outputs


def _markdown(outputs: list[Any]) -> list[str]:
    return [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]


def _table(outputs: list[Any], index: int = 0) -> tuple[list[str], list[list[str]]]:
    """The ``index``-th HTML table of a cell's outputs: header cells, then body rows (index cells first)."""
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})][index]
    soup = BeautifulSoup(html, "html.parser")
    header = [c.get_text(strip=True) for c in soup.find("thead").find("tr").find_all(["th", "td"])]
    rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in soup.find("tbody").find_all("tr")]
    return header, rows


def _svgs(outputs: list[Any]) -> list[str]:
    return [o["data"]["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]


def _labels(svg: str) -> list[str]:
    """The ARIA labels Vega writes on every drawn item: its encoded fields and values."""
    return re.findall(r'aria-label="([^"]*)"', svg)


def _money(value: float) -> str:
    return f"{value:,.0f}"


# ------------------------------------------------------------------- the headline KPIs


def _won_by_week(team_reps: pd.DataFrame) -> pd.Series:
    """Won revenue of the team per week (Monday), by closed_at, from opportunities.csv."""
    opp = pd.read_csv(SAMPLE / "opportunities.csv", parse_dates=["closed_at"])
    won = opp.loc[(opp["status"] == "won") & opp["rep_id"].isin(team_reps["rep_id"])]
    weeks = [WEEK - pd.Timedelta(weeks=k) for k in range(TRAILING + 1)]
    return pd.Series(
        {w: won.loc[(won["closed_at"] >= w) & (won["closed_at"] < w + pd.Timedelta(days=7)), "amount"].sum() for w in weeks}
    )


def _quota_by_week(team_reps: pd.DataFrame) -> pd.Series:
    """The team's quota per week: each quota row's quota x days of the week in its period / its days."""
    q = pd.read_csv(SAMPLE / "quotas.csv", parse_dates=["period_start", "period_end"])
    q = q.loc[q["rep_id"].isin(team_reps["rep_id"])]
    out = {}
    for k in range(TRAILING + 1):
        w = WEEK - pd.Timedelta(weeks=k)
        total = 0.0
        for r in q.itertuples():
            days = (r.period_end - r.period_start).days + 1
            overlap = sum(1 for d in range(7) if r.period_start <= w + pd.Timedelta(days=d) <= r.period_end)
            total += r.quota * overlap / days
        out[w] = total
    return pd.Series(out)


def test_json_won_revenue_and_attainment_equal_the_raw_files(record: dict[str, Any], team_reps: pd.DataFrame) -> None:
    assert (record["team"], record["week_start"], record["week_end"]) == (TEAM, "2026-11-16", "2026-11-22")
    assert record["trailing_weeks"] == TRAILING
    won, quota = _won_by_week(team_reps), _quota_by_week(team_reps)
    prev = WEEK - pd.Timedelta(weeks=1)
    trailing = [WEEK - pd.Timedelta(weeks=k) for k in range(1, TRAILING + 1)]
    k = record["kpis"]["won_revenue"]
    assert k["this_week"] == pytest.approx(won[WEEK])
    assert k["previous_week"] == pytest.approx(won[prev])
    assert k["trailing_average"] == pytest.approx(won[trailing].mean())
    assert k["change_vs_previous"] == pytest.approx(won[WEEK] - won[prev])
    k = record["kpis"]["quota_attainment"]
    assert k["this_week"] == pytest.approx(won[WEEK] / quota[WEEK])
    assert k["previous_week"] == pytest.approx(won[prev] / quota[prev])
    # pooled over the trailing weeks: total won / total quota
    assert k["trailing_average"] == pytest.approx(won[trailing].sum() / quota[trailing].sum())


def test_json_activity_kpis_equal_the_metrics_activity_table(record: dict[str, Any], dataset: Dataset) -> None:
    counts = metric_table(
        dataset, "activity", team=TEAM, start=WEEK - pd.Timedelta(weeks=TRAILING), end=NEXT_MONDAY, freq="week"
    )
    per_week = counts.pivot_table(index="period_start", columns="activity_type", values="count", aggfunc="sum")
    conv, appt = per_week["conversation"], per_week["appointment"]
    prev = WEEK - pd.Timedelta(weeks=1)
    trailing = [WEEK - pd.Timedelta(weeks=k) for k in range(1, TRAILING + 1)]
    k = record["kpis"]["conversations"]
    assert (k["this_week"], k["previous_week"]) == (conv[WEEK], conv[prev])
    assert k["trailing_average"] == pytest.approx(conv[trailing].mean())
    k = record["kpis"]["conversation_to_appointment"]
    assert k["n"] == conv[WEEK]
    assert k["this_week"] == pytest.approx(min(appt[WEEK], conv[WEEK]) / conv[WEEK])
    assert k["previous_week"] == pytest.approx(min(appt[prev], conv[prev]) / conv[prev])
    assert k["trailing_average"] == pytest.approx(appt[trailing].sum() / conv[trailing].sum())
    low, high = proportion_confint(min(appt[WEEK], conv[WEEK]), conv[WEEK], alpha=0.05, method="wilson")
    assert (k["ci_low"], k["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_headline_table_of_the_notebook_and_the_page_shows_the_json(run: report.ReportResult, notebook: Any, record: dict[str, Any]) -> None:
    header, rows = _table(_outputs(notebook, "headline_table"))
    assert header[1:] == ["This week", "Previous week", f"Trailing {TRAILING}-week average", "Change vs previous", "Change vs trailing"]
    shown = {r[0]: r[1:] for r in rows}
    k = record["kpis"]
    won, att, conv, ratio = k["won_revenue"], k["quota_attainment"], k["conversations"], k["conversation_to_appointment"]
    assert shown["Won revenue"][:2] == [_money(won["this_week"]), _money(won["previous_week"])]
    assert shown["Won revenue"][3] == f"{won['change_vs_previous']:+,.0f}"
    assert shown["Quota attainment"][:3] == [f"{att['this_week']:.1%}", f"{att['previous_week']:.1%}", f"{att['trailing_average']:.1%}"]
    assert shown["Quota attainment"][3] == f"{att['change_vs_previous'] * 100:+.1f} pts"
    assert shown["Conversations"][:2] == [f"{conv['this_week']:.0f}", f"{conv['previous_week']:.0f}"]
    assert shown["Conversation to appointment"][0] == (
        f"{ratio['this_week']:.1%} ({ratio['ci_low']:.0%}–{ratio['ci_high']:.0%}, n={ratio['n']:.0f})"
    )
    page = (run.folder / f"{TEAM}.html").read_text(encoding="utf-8")
    page_text = BeautifulSoup(page, "html.parser").get_text(" ", strip=True)
    for row in rows:
        assert " ".join(row) in page_text  # the page shows the same table, cell for cell


# ------------------------------------------------------------------- forecast within the cycle


def test_rolling_forecast_equals_the_metrics_rolling_table(notebook: Any, dataset: Dataset) -> None:
    outputs = _outputs(notebook, "commit_comparison")
    # metrics' own default as-of for a forecast table is the weekly rule, the report's too
    rolling = metric_table(dataset, "rolling", team=TEAM)
    assert (rolling["as_of_date"] == NEXT_MONDAY).all()
    total = rolling["forecast"].sum()
    text = _markdown(outputs)[0]
    assert text.startswith("Window 23 Nov to 22 Dec 2026: rolling forecast ")
    assert f"rolling forecast **{_money(total)}**" in text
    header, rows = _table(outputs)
    assert header[2:] == ["n_opportunities", "pipeline_amount", "forecast", "forecast_low", "forecast_high", "commit", "commit_vs_interval"]
    from salesx2lib.rolling import rolling_forecast

    teams = rolling_forecast(dataset.for_team(TEAM), NEXT_MONDAY, by="team")  # the team's reps' joint draws, as in the report
    mine = teams.loc[teams["team"] == TEAM].iloc[0]
    assert f"(80% interval {_money(mine['forecast_low'])} to {_money(mine['forecast_high'])};" in text
    assert mine["forecast_low"] < mine["forecast"] < mine["forecast_high"]
    shown = {r[1]: r[2:] for r in rows}
    assert sorted(shown) == sorted(rolling["rep_id"])
    for r in rolling.itertuples():
        assert shown[r.rep_id][:5] == [
            str(r.n_opportunities), _money(r.pipeline_amount), _money(r.forecast), _money(r.forecast_low), _money(r.forecast_high)
        ]
        commit = shown[r.rep_id][5]
        if commit != "-":  # the range verdict, read off the two numbers the page shows
            value = float(commit.replace(",", ""))
            expected = "above" if value > r.forecast_high else "below" if value < r.forecast_low else "inside"
            assert shown[r.rep_id][6] == expected


def test_commit_equals_the_forecasts_file_prorated(notebook: Any, team_reps: pd.DataFrame) -> None:
    """Each rep's latest commit per forecast period, submitted by the as-of, prorated to 23 Nov - 22 Dec."""
    fc = pd.read_csv(SAMPLE / "forecasts.csv", parse_dates=["submitted_at", "period_start", "period_end"])
    fc = fc.loc[(fc["category"] == "commit") & (fc["submitted_at"] <= NEXT_MONDAY) & fc["rep_id"].isin(team_reps["rep_id"])]
    window = pd.date_range("2026-11-23", "2026-12-22", freq="D")
    expected: dict[str, float] = {}
    for (rep, start, end), rows in fc.groupby(["rep_id", "period_start", "period_end"]):
        overlap = int(((window >= start) & (window <= end)).sum())
        if overlap:
            latest = rows.sort_values("submitted_at", kind="stable").iloc[-1]
            expected[rep] = expected.get(rep, 0.0) + latest["amount"] * overlap / ((end - start).days + 1)
    outputs = _outputs(notebook, "commit_comparison")
    header, rows = _table(outputs)
    at = header.index("commit")
    assert {r[1]: r[at] for r in rows} == {rep: _money(v) for rep, v in expected.items()}
    assert f"the reps' commit **{_money(sum(expected.values()))}**" in _markdown(outputs)[0]


def test_scrub_list_equals_the_metrics_scrub_table(notebook: Any, dataset: Dataset, team_reps: pd.DataFrame) -> None:
    table = metric_table(dataset, "scrub", team=TEAM, as_of=NEXT_MONDAY)
    flagged = table.loc[table["n_flags"] > 0].sort_values(["n_flags", "amount"], ascending=False).head(10)
    header, rows = _table(_outputs(notebook, "scrub.scrub("))
    assert header == ["rep_name", "opportunity_id", "stage", "amount", "expected_close_date", "reasons"]
    names = team_reps.set_index("rep_id")["rep_name"]
    assert len(rows) == 10
    assert rows == [
        [names[r.rep_id], r.opportunity_id, r.stage, _money(r.amount), f"{r.expected_close_date:%Y-%m-%d}", r.reasons]
        for r in flagged.itertuples()
    ]
    # the list is the deals with the most warning signs: none left out has more flags
    assert table.loc[~table["opportunity_id"].isin(flagged["opportunity_id"]), "n_flags"].max() <= flagged["n_flags"].min()


def test_horizon_chart_shows_the_metrics_horizon_and_cycle_tables(notebook: Any, dataset: Dataset) -> None:
    accuracy_svg, baseline_svg = _svgs(_outputs(notebook, "horizon_accuracy("))
    horizon = metric_table(dataset, "horizon", team=TEAM, as_of=NEXT_MONDAY)
    horizon = horizon.loc[horizon["team"] == TEAM]
    assert len(horizon) == 4
    labels = _labels(accuracy_svg)
    for r in horizon.itertuples():
        for metric in ("accuracy", "bias"):
            value = getattr(r, metric)
            found = [
                lab for lab in labels
                if f"metric: {metric}; horizon (days): {r.horizon_bucket}; submissions: {r.n};" in lab
                and f": {r.horizon_median_days:.0f}; " in lab
            ]
            assert found, (metric, r.horizon_bucket)
            drawn = float(re.search(r"sum\(F-A\)/sum\(A\): (-?[\d.]+)%", found[0]).group(1)) / 100
            assert drawn == pytest.approx(value, abs=5e-9)
    cycle = metric_table(dataset, "cycle", team=TEAM, as_of=NEXT_MONDAY)
    km = float(cycle.loc[cycle["team"] == TEAM, "km_median_days"].iloc[0])
    drawn_cycle = [float(m) for lab in labels for m in re.findall(r"^days: ([\d.]+)$", lab)]
    assert drawn_cycle == [pytest.approx(km, abs=1e-9)]
    assert f"sales cycle (KM median) {km:.0f} d" in accuracy_svg
    # the run-rate chart: each bucket's WAPE of the forecasts and of the run-rate
    base_labels = _labels(baseline_svg)
    for r in horizon.itertuples():
        for series, value in (("forecasts submitted", r.wape), ("run-rate (91 days)", r.run_rate_wape)):
            found = [lab for lab in base_labels if f"; series: {series}; horizon (days): {r.horizon_bucket}; WAPE:" in lab]
            assert found, (series, r.horizon_bucket)
            drawn = float(re.search(r"\(lower is better\): ([\d.]+)%", found[0]).group(1)) / 100
            assert drawn == pytest.approx(value, abs=5e-9)
            assert f"rep-periods: {r.n_clusters}" in found[0]


# ------------------------------------------------------------------- competencies and coaching


def test_funnel_chart_equals_the_metrics_funnel_pooled(notebook: Any, dataset: Dataset) -> None:
    (svg,) = _svgs(_outputs(notebook, "funnel_comparison("))
    labels = _labels(svg)
    for window, start, end, label in (
        ("this period", WEEK, NEXT_MONDAY, "this period (16 Nov to 22 Nov)"),
        ("baseline", QUARTER_START, WEEK, "baseline (24 Aug to 15 Nov)"),
    ):
        funnel = metric_table(dataset, "funnel", team=TEAM, start=start, end=end)
        pooled = funnel.groupby("metric")[["successes", "trials"]].sum()
        for metric, row in pooled.iterrows():
            found = [lab for lab in labels if f"metric: {metric}; label: {label};" in lab and "successes:" in lab]
            assert len(found) == 1, (window, metric)
            successes = int(re.search(r"successes: (\d+)", found[0]).group(1))
            trials = int(re.search(r"; n: (\d+)", found[0]).group(1))
            rate = float(re.search(r"^rate: ([\d.]+)", found[0]).group(1))
            assert (successes, trials) == (row["successes"], row["trials"])
            assert rate == pytest.approx(row["successes"] / row["trials"], abs=1e-11)


def test_coaching_actions_equal_the_metrics_coaching_table(
    notebook: Any, dataset: Dataset, team_reps: pd.DataFrame, segments_table: pd.DataFrame
) -> None:
    texts = _markdown(_outputs(notebook, "priority_list("))
    coaching = metric_table(dataset, "coaching", team=TEAM, start=QUARTER_START, end=NEXT_MONDAY)
    assert len(coaching) > 0
    managers = team_reps.set_index("rep_id")["manager"]
    expected = []
    for manager, rows in coaching.assign(manager=coaching["rep_id"].map(managers)).sort_values("rank").groupby("manager", sort=True):
        lines = "\n".join(f"{i}. {s}" for i, s in enumerate(rows["sentence"].head(3), start=1))
        expected.append(f"**{manager}**\n\n{lines}")
    assert texts[: len(expected)] == expected
    # the reps backed off are the self_sustained ones of the segment table
    backed = segments_table.loc[segments_table["segment"] == "self_sustained"].sort_values("rep_id")
    assert len(backed) > 0
    assert texts[len(expected)] == (
        "*Backed off (self_sustained: general accountability, not coached): "
        + ", ".join(f"{r.rep_name} ({r.rep_id})" for r in backed.itertuples())
        + ".*"
    )


def test_segment_table_and_map_equal_the_metrics_segments_table(notebook: Any, segments_table: pd.DataFrame) -> None:
    outputs = _outputs(notebook, "current_segments(")
    header, rows = _table(outputs)
    assert header == ["rep_name", "rep_id", "segment", "p_at_quota", "management_style", "reason"]
    expected = segments_table.sort_values(["segment", "rep_id"])
    assert rows == [
        [r.rep_name, r.rep_id, r.segment, "n/a" if pd.isna(r.p_at_quota) else f"{r.p_at_quota:.2f}", r.management_style, r.reason]
        for r in expected.itertuples()
    ]
    (svg,) = _svgs(outputs)
    points = [lab for lab in _labels(svg) if "; segment: " in lab]
    drawn = segments_table.loc[segments_table["attainment"].notna()]
    assert len(points) == len(drawn)  # one point per rep with an attainment
    for r in drawn.itertuples():
        (point,) = [p for p in points if f"; rep_id: {r.rep_id};" in p]
        assert f"; segment: {r.segment};" in point
        x = float(re.search(r"^attainment \(won / quota over the window\): ([\d.]+)%", point).group(1)) / 100
        y = float(re.search(r"; share of months at quota: ([\d.]+)%", point).group(1)) / 100
        assert (x, y) == (pytest.approx(r.attainment, abs=5e-9), pytest.approx(r.months_at_quota_share, abs=5e-9))


def test_html_page_carries_every_chart_of_the_notebook(run: report.ReportResult, notebook: Any) -> None:
    page = (run.folder / f"{TEAM}.html").read_text(encoding="utf-8")
    images = [base64.b64decode(b).decode() for b in re.findall(r'<img [^>]*src="data:image/svg\+xml;base64,([^"]+)"', page)]
    in_notebook = [s for c in notebook.cells if c.cell_type == "code" for s in _svgs(c.outputs)]
    # at least: 4 KPIs, the funnel, the waterfall, 2 horizon charts, the segment map; the page has each, in order
    assert len(in_notebook) >= 9
    assert [_labels(s) for s in images] == [_labels(s) for s in in_notebook]


def test_waterfall_chart_equals_the_metrics_waterfall_table(notebook: Any, dataset: Dataset) -> None:
    (svg,) = _svgs(_outputs(notebook, "waterfall.waterfall("))
    table = metric_table(dataset, "waterfall", team=TEAM, as_of=NEXT_MONDAY)
    table = table.loc[table["team"] == TEAM]
    assert len(table) == 9
    bars = [lab for lab in _labels(svg) if "; pipeline after: " in lab]
    assert [re.match(r"step: (\w+);", b).group(1) for b in bars] == table["step"].tolist()
    for bar, r in zip(bars, table.itertuples(), strict=True):
        assert f"level_after: {r.level_after:.0f}; amount (signed): {r.amount:,.0f}".replace("-", "\u2212") in bar
        assert f"; deals: {r.n_deals};" in bar
    # the bars add up: end = start + every movement
    assert table["amount"].iloc[-1] == pytest.approx(table["amount"].iloc[:-1].sum())
    assert "from Mon 16 Nov 00:00 to Mon 23 Nov 00:00" in svg  # the week, as the weekly rule reads it


def test_accounts_and_cadence_equal_the_metrics_tables(notebook: Any, dataset: Dataset) -> None:
    table = metric_table(dataset, "accounts", team=TEAM, as_of=NEXT_MONDAY)
    expected = table.loc[(table["open_deals"] > 0) & (table["n_flags"] > 0)].sort_values("open_amount", ascending=False).head(10)
    header, rows = _table(_outputs(notebook, "account_table("))
    assert header == ["account_id", "reps", "open_deals", "open_amount", "reasons"]
    assert rows == [[r.account_id, str(r.reps), str(r.open_deals), _money(r.open_amount), r.reasons] for r in expected.itertuples()]
    cadence = metric_table(dataset, "cadence", team=TEAM, as_of=NEXT_MONDAY)
    expected_reps = cadence.loc[cadence["submitted_this_week"].notna()]
    silent = expected_reps.loc[~expected_reps["submitted_this_week"].astype(bool)]
    text = _markdown(_outputs(notebook, "forecast_cadence("))[0]
    if silent.empty:
        assert text == f"*All {len(expected_reps)} reps expected to forecast this week did.*"
    else:
        assert text == f"**{len(silent)} of {len(expected_reps)} reps** sent no forecast this week:"
