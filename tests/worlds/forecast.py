"""A small sales floor whose deals' true win-by-window-end probability is known.

Declared truth (what the tests check the model and its intervals recover):

* Deals arrive for each rep as a Poisson process (``deals_per_week``), each in a fixed
  open stage ``s`` (it never changes) with a log-normal amount that carries no signal (the
  placebo input: it has no effect on the outcome).
* A deal's decision comes after an exponential time of rate ``hazard[s]`` per day
  (memoryless), and it is won with probability ``win_share[s] * rep_factor[r]`` (clipped to
  0.95), otherwise lost. Nothing else matters: not its age, not its amount.
* Hence for a deal open at ``D`` (a Monday 00:00), the true probability of being won with
  ``D < closed_at < D + W`` days is ``q * (1 - exp(-hazard * W))``, with ``q`` its win share:
  :func:`true_probability` returns it for any set of deals.
* With ``team_shock = s > 0``, the win share of every deal of a team decided in the same
  28-day block (from ``START``) is multiplied by a common factor ``exp(s z - s^2 / 2)``
  (``z`` standard normal per team and block; share clipped to 0.95): a team's deals win and
  lose together. :func:`true_probability` is then the probability before the shock is
  drawn (the mean over ``z``, up to the clipping).
* With ``shape`` (one Weibull shape ``k`` per stage) the decision time is instead Weibull
  with cumulative hazard ``Lambda(t) = hazard * T0 * (t / T0)^k``, ``T0 = 30`` days (the
  same chance of a decision within 30 days of creation as the memoryless case; ``k = 1``: the memoryless case; ``k <
  1``: the longer a deal has waited, the less likely its decision soon), so age matters, and
  differently per stage: for a deal of age ``a`` open at ``D`` the true probability is ``q *
  (1 - exp(-(Lambda(a + W) - Lambda(a))))`` (:func:`true_probability` with ``ages``).
* The data contains no activities and no forecasts; each deal has one history row at its
  creation (and one at its close), with an expected close date 20 days after creation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesx2lib.dataset import Dataset

STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
#: Per-day decision hazard and win share of each stage (the declared truth).
HAZARD = np.array([0.010, 0.020, 0.035, 0.050])
WIN_SHARE = np.array([0.15, 0.35, 0.55, 0.80])
START = pd.Timestamp("2024-01-01")  # a Monday
T0 = 30.0  # days: the Weibull decision times' reference age
US = "datetime64[us]"


def make_world(
    seed: int, n_reps: int = 12, weeks: int = 60, deals_per_week: float = 3.0, team_shock: float = 0.0,
    shape: tuple[float, ...] | None = None,
) -> tuple[Dataset, pd.DataFrame]:
    """The world's dataset and its truth.

    Returns
    -------
    tuple
        The :class:`Dataset` (as of ``START + weeks``) and a frame per deal:
        ``opportunity_id``, ``stage_code``, ``win_share`` (``q`` after the rep factor),
        ``hazard``, ``shape`` (1 without ``shape``), ``created_at``.
    """
    rng = np.random.default_rng(seed)
    end = START + pd.Timedelta(weeks=weeks)
    rep_ids = np.array([f"r{i:02d}" for i in range(n_reps)])
    rep_factor = np.exp(rng.normal(0.0, 0.25, n_reps))
    counts = rng.poisson(deals_per_week * weeks, n_reps)
    rep = np.repeat(np.arange(n_reps), counts)
    n = len(rep)
    created = START + pd.to_timedelta(rng.uniform(0, weeks * 7, n) * 86400.0, unit="s").floor("s")
    stage = rng.choice(len(STAGES), n, p=[0.3, 0.3, 0.25, 0.15])
    q = np.minimum(WIN_SHARE[stage] * rep_factor[rep], 0.95)
    h = HAZARD[stage]
    k = np.ones(n) if shape is None else np.asarray(shape, dtype="float64")[stage]
    # Lambda(t) = h T0 (t / T0)^k: t = T0 (E / (h T0))^(1/k), E standard exponential (k = 1:
    # exponential of mean 1/h); waits beyond 100 years (never decided in the data) are capped
    wait = rng.exponential(1.0 / h) if shape is None else np.minimum(T0 * (rng.exponential(1.0, n) / (h * T0)) ** (1.0 / k), 36500.0)
    decide = created + pd.to_timedelta(wait * 86400.0, unit="s").floor("s")
    team_code = rep % 2
    if team_shock > 0:
        block = ((decide - START) // pd.Timedelta(days=28)).to_numpy().astype("int64")
        z = rng.standard_normal((2, int(block.max()) + 1))
        factor = np.exp(team_shock * z - team_shock**2 / 2)[team_code, block]
        won = rng.random(n) < np.minimum(q * factor, 0.95)
    else:
        won = rng.random(n) < q
    amount = np.round(np.exp(rng.normal(8.5, 0.6, n)), 0)
    closed = decide <= end
    status = np.where(~closed, "open", np.where(won, "won", "lost"))
    ids = np.array([f"o{i:05d}" for i in range(n)])
    ecd = (created + pd.Timedelta(days=20)).normalize()
    final_stage = np.where(status == "won", "Closed Won", np.where(status == "lost", "Closed Lost", np.asarray(STAGES)[stage]))
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "rep_id": rep_ids[rep],
            "created_at": created,
            "amount": amount,
            "stage": final_stage,
            "status": status,
            "expected_close_date": ecd,
            "closed_at": pd.Series(decide).where(closed).to_numpy(),
        }
    ).astype({"opportunity_id": "str", "rep_id": "str", "created_at": US, "amount": "float64", "stage": "str",
              "status": "str", "expected_close_date": US, "closed_at": US})
    first = pd.DataFrame({"opportunity_id": ids, "changed_at": created, "stage": np.asarray(STAGES)[stage], "amount": amount, "expected_close_date": ecd})
    last = opps.loc[closed, ["opportunity_id", "closed_at", "stage", "amount", "expected_close_date"]].rename(columns={"closed_at": "changed_at"})
    hist = pd.concat([first, last], ignore_index=True).astype(
        {"opportunity_id": "str", "changed_at": US, "stage": "str", "amount": "float64", "expected_close_date": US}
    )
    reps = pd.DataFrame(
        {"rep_id": rep_ids, "rep_name": [f"Rep {i}" for i in range(n_reps)], "team": np.where(np.arange(n_reps) % 2, "B", "A"), "manager": "M"}
    ).astype("str")
    ds = Dataset(tables={"reps": reps, "opportunities": opps, "opportunity_history": hist}, activities=None, as_of=end)
    truth = pd.DataFrame(
        {"opportunity_id": ids, "stage_code": stage, "win_share": q, "hazard": h, "shape": k, "created_at": created.to_numpy(dtype=US)}
    ).astype({"opportunity_id": "str"})
    return ds, truth


def true_probability(
    truth: pd.DataFrame, opportunity_ids: pd.Series, window_days: float, as_of: pd.Series | None = None
) -> np.ndarray:
    """``q * (1 - exp(-(Lambda(a + W) - Lambda(a))))`` for each deal open at the window's start.

    ``Lambda(t) = hazard * T0 * (t / T0)^shape``, ``a`` the deal's age in days at ``as_of`` (needed only
    when a shape differs from 1; with shape 1 this is ``q * (1 - exp(-hazard * W))``).
    """
    t = truth.set_index("opportunity_id").loc[opportunity_ids.to_numpy()]
    k = t["shape"].to_numpy()
    if as_of is None:
        if not np.allclose(k, 1.0):
            raise ValueError("as_of is needed when the decision time is not memoryless")
        a = np.zeros(len(t))
    else:
        a = (pd.to_datetime(as_of).to_numpy(dtype=US) - t["created_at"].to_numpy(dtype=US)) / np.timedelta64(1, "D")
    h = t["hazard"].to_numpy()
    mass = h * T0 * (((a + window_days) / T0) ** k - (a / T0) ** k)
    return t["win_share"].to_numpy() * (1.0 - np.exp(-mass))
