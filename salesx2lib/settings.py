"""Settings shared by every notebook, command and report, read from one TOML file.

The defaults live in ``salesx2lib/settings.toml`` (documented there, key by key). A user
file overrides any subset of keys; an unknown key or a value of the wrong type is an
error with its location, never silently ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from salesx2lib.problems import DataError, Problem

__all__ = ["Settings", "default_settings_text", "load_settings"]


@dataclass(frozen=True)
class Settings:
    """Typed view of the settings file; see ``settings.toml`` for each key."""

    stage_order: tuple[str, ...]
    stage_won: str
    stage_lost: str
    gate_minimum_stage: str
    gate_required_fields: tuple[str, ...]
    forecast_window_days: int
    horizon_buckets: tuple[int, ...]
    hit_tolerance: float
    trailing_weeks: int
    forecast_min_decided_deals: int = 10
    forecast_cadence_weeks: int = 13
    forecast_waterfall_period: str = "quarter"
    forecast_training_weeks: int = 52
    forecast_refit_weeks: int = 4
    forecast_max_training_rows: int = 10000
    forecast_min_training_events: int = 30
    forecast_prior_strength: int = 2
    forecast_age_slope_per_stage: bool = True
    forecast_new_business_weeks: int = 26
    forecast_new_business_prior_windows: float = 8.0
    forecast_new_business_prior_deals: float = 5.0
    forecast_interval: float = 0.8
    forecast_simulations: int = 200
    forecast_seed: int = 0
    forecast_run_rate_days: int = 91
    cycle_win_within_days: tuple[int, ...] = (30, 60, 90)
    cycle_data_start: str = ""
    scrub_push_threshold: int = 2
    scrub_stale_activity_days: int = 14
    scrub_stage_duration_factor: float = 1.5
    scrub_amount_iqr_factor: float = 1.5
    scrub_min_history: int = 5
    scrub_early_stages: tuple[str, ...] = ("Prospecting",)
    segments_window_weeks: int = 13
    segments_ramping_days: int = 120
    segments_min_month_days: int = 14
    segments_self_sustained_attainment: float = 1.0
    segments_self_sustained_months_share: float = 0.66
    segments_self_sustained_percentile: float = 50.0
    segments_developing_attainment: float = 0.8
    segments_improving_attainment: float = 0.6
    segments_enter_evaluations: int = 3
    segments_exit_evaluations: int = 2
    segments_self_sustained_exit_attainment: float = 0.85
    segments_developing_exit_attainment: float = 0.6
    training_window_weeks: int = 8
    training_min_trials: int = 30
    training_min_deals: int = 20
    training_controls: int = 5
    training_min_team_controls: int = 3
    milestones_ladder: tuple[str, ...] = ("conversation_to_appointment", "months_at_quota", "forecast_accuracy")
    milestones_history_weeks: int = 26
    milestones_conversation_weeks: int = 4
    milestones_quota_months: int = 2
    milestones_forecast_tolerance: float = 0.15
    milestones_forecast_months: int = 1
    milestones_target_weeks: int = 8
    coaching_min_probability: float = 0.9
    coaching_ramp_days: int = 84
    coaching_ramp_start: float = 0.75
    routines_window_weeks: int = 13
    routines_next_step_days: int = 14
    routines_top_quantile: float = 0.75
    routines_block_min_dials: int = 5
    routines_block_gap_minutes: float = 5.0
    routines_touch_types: tuple[str, ...] = ("dial", "email", "meeting")
    routines_follow_up_types: tuple[str, ...] = ("email", "appointment")
    routines_min_distinct: int = 2
    routines_min_dispersion: float = 0.05
    relevance_horizon_days: int = 0
    relevance_lookback_days: int = 0
    relevance_within: str = "period"
    relevance_alpha: float = 0.05
    relevance_adjust: str = "holm"
    relevance_min_reps: int = 10
    relevance_n_resamples: int = 9999
    accounts_several_open_deals: int = 2
    accounts_repeated_losses: int = 2
    accounts_loss_window_days: int = 365
    accounts_stale_activity_days: int = 14
    accounts_concentration_share: float = 0.5
    accounts_push_threshold: int = 3


def default_settings_text() -> str:
    """The packaged default settings file, comments included."""
    return resources.files("salesx2lib").joinpath("settings.toml").read_text(encoding="utf-8")


def _merge(defaults: dict[str, Any], user: dict[str, Any], file: str, prefix: str = "") -> list[Problem]:
    problems: list[Problem] = []
    for key, value in user.items():
        name = f"{prefix}{key}"
        if key not in defaults:
            problems.append(Problem(file, None, name, f"unknown setting (known: {', '.join(sorted(defaults))})"))
        elif isinstance(defaults[key], dict):
            if not isinstance(value, dict):
                problems.append(Problem(file, None, name, "must be a table of settings"))
            else:
                problems.extend(_merge(defaults[key], value, file, f"{name}."))
        elif type(value) is not type(defaults[key]) and not (
            isinstance(defaults[key], float) and isinstance(value, int)
        ):
            problems.append(
                Problem(file, None, name, f"{value!r} should be a {type(defaults[key]).__name__}")
            )
        else:
            defaults[key] = value
    return problems


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the settings: the defaults, overridden by ``path`` if given.

    Parameters
    ----------
    path
        A TOML file with any subset of the keys of the default file.

    Raises
    ------
    DataError
        If the file cannot be parsed, has unknown keys or values of the wrong type.
    """
    raw = tomllib.loads(default_settings_text())
    if path is not None:
        path = Path(path)
        try:
            user = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError([Problem(str(path), None, None, "settings file not found")]) from None
        except tomllib.TOMLDecodeError as exc:
            line = getattr(exc, "lineno", None)
            raise DataError([Problem(str(path), line, None, f"not valid TOML: {exc.msg if hasattr(exc, 'msg') else exc}")]) from None
        problems = _merge(raw, user, path.name)
        if problems:
            raise DataError(problems)
    stages = raw["stages"]
    settings = Settings(
        stage_order=tuple(stages["order"]),
        stage_won=stages["won"],
        stage_lost=stages["lost"],
        gate_minimum_stage=raw["gate"]["minimum_stage"],
        gate_required_fields=tuple(raw["gate"]["required_fields"]),
        forecast_window_days=raw["forecast"]["window_days"],
        horizon_buckets=tuple(raw["forecast"]["horizon_buckets"]),
        hit_tolerance=float(raw["forecast"]["hit_tolerance"]),
        trailing_weeks=raw["report"]["trailing_weeks"],
        forecast_min_decided_deals=raw["forecast"]["min_decided_deals"],
        forecast_cadence_weeks=raw["forecast"]["cadence_weeks"],
        forecast_waterfall_period=raw["forecast"]["waterfall_period"],
        forecast_training_weeks=raw["forecast"]["training_weeks"],
        forecast_refit_weeks=raw["forecast"]["refit_weeks"],
        forecast_max_training_rows=raw["forecast"]["max_training_rows"],
        forecast_min_training_events=raw["forecast"]["min_training_events"],
        forecast_prior_strength=raw["forecast"]["prior_strength"],
        forecast_age_slope_per_stage=bool(raw["forecast"]["age_slope_per_stage"]),
        forecast_new_business_weeks=raw["forecast"]["new_business_weeks"],
        forecast_new_business_prior_windows=float(raw["forecast"]["new_business_prior_windows"]),
        forecast_new_business_prior_deals=float(raw["forecast"]["new_business_prior_deals"]),
        forecast_interval=float(raw["forecast"]["interval"]),
        forecast_simulations=raw["forecast"]["simulations"],
        forecast_seed=raw["forecast"]["seed"],
        forecast_run_rate_days=raw["forecast"]["run_rate_days"],
        cycle_win_within_days=tuple(raw["cycle"]["win_within_days"]),
        cycle_data_start=raw["cycle"]["data_start"],
        scrub_push_threshold=raw["scrub"]["push_threshold"],
        scrub_stale_activity_days=raw["scrub"]["stale_activity_days"],
        scrub_stage_duration_factor=float(raw["scrub"]["stage_duration_factor"]),
        scrub_amount_iqr_factor=float(raw["scrub"]["amount_iqr_factor"]),
        scrub_min_history=raw["scrub"]["min_history"],
        scrub_early_stages=tuple(raw["scrub"]["early_stages"]),
        segments_window_weeks=raw["segments"]["window_weeks"],
        segments_ramping_days=raw["segments"]["ramping_days"],
        segments_min_month_days=raw["segments"]["min_month_days"],
        segments_self_sustained_attainment=float(raw["segments"]["self_sustained_attainment"]),
        segments_self_sustained_months_share=float(raw["segments"]["self_sustained_months_share"]),
        segments_self_sustained_percentile=float(raw["segments"]["self_sustained_percentile"]),
        segments_developing_attainment=float(raw["segments"]["developing_attainment"]),
        segments_improving_attainment=float(raw["segments"]["improving_attainment"]),
        segments_enter_evaluations=raw["segments"]["enter_evaluations"],
        segments_exit_evaluations=raw["segments"]["exit_evaluations"],
        segments_self_sustained_exit_attainment=float(raw["segments"]["self_sustained_exit_attainment"]),
        segments_developing_exit_attainment=float(raw["segments"]["developing_exit_attainment"]),
        training_window_weeks=raw["training"]["window_weeks"],
        training_min_trials=raw["training"]["min_trials"],
        training_min_deals=raw["training"]["min_deals"],
        training_controls=raw["training"]["controls"],
        training_min_team_controls=raw["training"]["min_team_controls"],
        milestones_ladder=tuple(raw["milestones"]["ladder"]),
        milestones_history_weeks=raw["milestones"]["history_weeks"],
        milestones_conversation_weeks=raw["milestones"]["conversation_weeks"],
        milestones_quota_months=raw["milestones"]["quota_months"],
        milestones_forecast_tolerance=float(raw["milestones"]["forecast_tolerance"]),
        milestones_forecast_months=raw["milestones"]["forecast_months"],
        milestones_target_weeks=raw["milestones"]["target_weeks"],
        coaching_min_probability=float(raw["coaching"]["min_probability"]),
        coaching_ramp_days=raw["coaching"]["ramp_days"],
        coaching_ramp_start=float(raw["coaching"]["ramp_start"]),
        routines_window_weeks=raw["routines"]["window_weeks"],
        routines_next_step_days=raw["routines"]["next_step_days"],
        routines_top_quantile=float(raw["routines"]["top_quantile"]),
        routines_block_min_dials=raw["routines"]["block_min_dials"],
        routines_block_gap_minutes=float(raw["routines"]["block_gap_minutes"]),
        routines_touch_types=tuple(raw["routines"]["touch_types"]),
        routines_follow_up_types=tuple(raw["routines"]["follow_up_types"]),
        routines_min_distinct=raw["routines"]["min_distinct"],
        routines_min_dispersion=float(raw["routines"]["min_dispersion"]),
        relevance_horizon_days=raw["relevance"]["horizon_days"],
        relevance_lookback_days=raw["relevance"]["lookback_days"],
        relevance_within=raw["relevance"]["within"],
        relevance_alpha=float(raw["relevance"]["alpha"]),
        relevance_adjust=raw["relevance"]["adjust"],
        relevance_min_reps=raw["relevance"]["min_reps"],
        relevance_n_resamples=raw["relevance"]["n_resamples"],
        accounts_several_open_deals=raw["accounts"]["several_open_deals"],
        accounts_repeated_losses=raw["accounts"]["repeated_losses"],
        accounts_loss_window_days=raw["accounts"]["loss_window_days"],
        accounts_stale_activity_days=raw["accounts"]["stale_activity_days"],
        accounts_concentration_share=float(raw["accounts"]["concentration_share"]),
        accounts_push_threshold=raw["accounts"]["push_threshold"],
    )
    where = path.name if path is not None else "settings.toml"
    relevance_choices = {
        "within": (settings.relevance_within, ("period", "period_and_rep")),
        "adjust": (settings.relevance_adjust, ("holm", "fdr_bh")),
    }
    for key, (value, choices) in relevance_choices.items():
        if value not in choices:
            raise DataError([Problem(where, None, f"relevance.{key}", f"{value!r} is not one of {', '.join(choices)}")])
    if settings.forecast_waterfall_period not in ("quarter", "month"):
        raise DataError(
            [Problem(where, None, "forecast.waterfall_period", f"{settings.forecast_waterfall_period!r} is not one of quarter, month")]
        )
    if not 0.0 < settings.relevance_alpha < 1.0 or settings.relevance_n_resamples < 1:
        raise DataError([Problem(where, None, "relevance", "alpha must be between 0 and 1 and n_resamples at least 1")])
    forecast_ok = (
        0.0 < settings.forecast_interval < 1.0 and settings.forecast_simulations >= 10 and settings.forecast_refit_weeks >= 1
        and settings.forecast_training_weeks >= 1 and settings.forecast_max_training_rows >= 100
        and settings.forecast_prior_strength >= 0 and settings.forecast_run_rate_days >= 1
        and settings.forecast_new_business_prior_windows >= 0 and settings.forecast_new_business_prior_deals >= 0
    )
    if not forecast_ok:
        raise DataError([Problem(where, None, "forecast", "interval must be between 0 and 1, simulations at least 10, "
                                 "refit_weeks, training_weeks and run_rate_days at least 1, max_training_rows at least 100, "
                                 "prior strengths and weights not negative")])
    if settings.gate_minimum_stage not in settings.stage_order:
        raise DataError(
            [Problem(where, None, "gate.minimum_stage", f"{settings.gate_minimum_stage!r} is not one of stages.order")]
        )
    if settings.scrub_min_history < 1:
        # with no won deal to compare with there are no fences: the flag cannot be checked
        raise DataError([Problem(where, None, "scrub.min_history", f"{settings.scrub_min_history} is below 1: a flag needs at least one won deal to compare with")])
    unknown_early = [s for s in settings.scrub_early_stages if s not in settings.stage_order]
    if unknown_early:
        raise DataError(
            [Problem(where, None, "scrub.early_stages", f"{', '.join(map(repr, unknown_early))} not in stages.order")]
        )
    return settings
