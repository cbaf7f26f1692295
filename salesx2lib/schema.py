"""The data contract: the seven canonical tables, their columns, types, keys and rules.

Every other module speaks these names. A source (a folder of CSV or Parquet files, or a
CRM export mapped onto these names) is checked against this contract by
:mod:`salesx2lib.validate` before any analysis sees it. ``reps`` and ``opportunities``
are required; the other tables are optional and each analysis states which it needs.

The human-readable version of this module is ``docs/data-model.md``; a test keeps the two
in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ACTIVITY_TYPES",
    "COMPETENCIES",
    "Column",
    "ForeignKey",
    "OPPORTUNITY_STATUSES",
    "REQUIRED_TABLES",
    "TABLES",
    "TABLE_ORDER",
    "Table",
]

Kind = Literal["id", "text", "number", "timestamp", "date", "category"]

#: Activity types the analyses understand. ``dial`` is every outbound call attempt
#: (connected or not); ``conversation`` is a live two-way talk (a connected call, logged
#: in the same second as its dial, or a meeting held); ``appointment`` is a next meeting booked with a prospect.
ACTIVITY_TYPES: tuple[str, ...] = (
    "dial",
    "conversation",
    "appointment",
    "email",
    "meeting",
    "business_card",
    "other",
)

OPPORTUNITY_STATUSES: tuple[str, ...] = ("open", "won", "lost")

FORECAST_CATEGORIES: tuple[str, ...] = ("commit", "best_case")

#: The competencies a training can target: the funnel ratios and the deal size.
COMPETENCIES: tuple[str, ...] = (
    "connect_rate",
    "conversation_to_appointment",
    "appointment_to_opportunity",
    "win_rate",
    "deal_size",
)


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Attributes
    ----------
    name
        Canonical column name.
    kind
        ``id`` and ``text`` are strings; ``number`` a float; ``timestamp`` a UTC date and
        time; ``date`` a calendar date; ``category`` a string from ``values``.
    required
        The column must be present in the file (an optional column may be absent; it is
        then all missing).
    nullable
        A cell may be empty.
    minimum
        Smallest allowed value of a number.
    values
        Allowed values of a category.
    doc
        One sentence for the data dictionary.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    values: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must match a value of ``table.target`` (empty cells are not checked)."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns, key, foreign keys and whether it is required."""

    name: str
    columns: tuple[Column, ...]
    required: bool = False
    key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    doc: str = ""
    rules: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in canonical order."""
        return tuple(c.name for c in self.columns)


_REP_FK = ForeignKey("rep_id", "reps", "rep_id")
_OPP_FK = ForeignKey("opportunity_id", "opportunities", "opportunity_id")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "reps",
            required=True,
            key=("rep_id",),
            doc="One row per sales rep.",
            columns=(
                Column("rep_id", "id", doc="Unique id of the rep."),
                Column("rep_name", "text", doc="Display name."),
                Column("team", "text", doc="Team the rep belongs to; reports are per team."),
                Column("manager", "text", nullable=True, doc="The rep's manager."),
                Column("region", "text", required=False, nullable=True, doc="Region or office."),
                Column(
                    "hire_date",
                    "date",
                    required=False,
                    nullable=True,
                    doc="First day in the role; tells a ramping new hire from the rest.",
                ),
            ),
        ),
        Table(
            "activities",
            key=("activity_id",),
            foreign_keys=(_REP_FK, _OPP_FK),
            doc=(
                "The activity log: one row per dial, conversation, appointment, e-mail... "
                "It can be very large and is never loaded whole into memory."
            ),
            columns=(
                Column("activity_id", "id", doc="Unique id of the activity."),
                Column("rep_id", "id", doc="The rep who did it."),
                Column("occurred_at", "timestamp", doc="When it happened (UTC)."),
                Column(
                    "activity_type",
                    "category",
                    values=ACTIVITY_TYPES,
                    doc="What it was; see the activity types below.",
                ),
                Column(
                    "opportunity_id",
                    "id",
                    required=False,
                    nullable=True,
                    doc="The opportunity it worked on, if any.",
                ),
                Column(
                    "duration_s",
                    "number",
                    required=False,
                    nullable=True,
                    minimum=0,
                    doc="Duration in seconds (calls and meetings).",
                ),
            ),
        ),
        Table(
            "opportunities",
            required=True,
            key=("opportunity_id",),
            foreign_keys=(_REP_FK,),
            doc="One row per opportunity (deal), as it stands now.",
            rules=(
                "closed_at is set if and only if status is won or lost",
                "a deal closed before it was created closes at its creation, with a note (a cycle of 0)",
                "a won opportunity without an amount is a warning (it counts as won and adds nothing to won revenue)",
            ),
            columns=(
                Column("opportunity_id", "id", doc="Unique id of the opportunity."),
                Column("rep_id", "id", doc="The owner."),
                Column("account_id", "id", required=False, nullable=True, doc="The account."),
                Column("created_at", "timestamp", doc="When the opportunity was created."),
                Column(
                    "amount",
                    "number",
                    nullable=True,
                    minimum=0,
                    doc="Deal value; may be empty (on a won deal, with a warning).",
                ),
                Column("stage", "text", doc="Current stage, in the organisation's own words."),
                Column("status", "category", values=OPPORTUNITY_STATUSES, doc="open, won or lost."),
                Column(
                    "expected_close_date",
                    "date",
                    nullable=True,
                    doc="When the rep expects it to close.",
                ),
                Column(
                    "closed_at",
                    "timestamp",
                    nullable=True,
                    doc="When it was won or lost; empty while open.",
                ),
                Column(
                    "modified_at",
                    "timestamp",
                    required=False,
                    nullable=True,
                    doc="When it was last changed, as the CRM stamps it; tells when the export was taken.",
                ),
            ),
        ),
        Table(
            "opportunity_history",
            foreign_keys=(_OPP_FK,),
            doc=(
                "The opportunity's fields as of each change (the shape of Salesforce "
                "OpportunityHistory): the pipeline can be rebuilt as of any past date."
            ),
            columns=(
                Column("opportunity_id", "id", doc="The opportunity that changed."),
                Column("changed_at", "timestamp", doc="When the change was made."),
                Column("stage", "text", doc="Stage after the change."),
                Column("amount", "number", nullable=True, minimum=0, doc="Amount after the change."),
                Column(
                    "expected_close_date",
                    "date",
                    nullable=True,
                    doc="Expected close date after the change.",
                ),
            ),
        ),
        Table(
            "forecasts",
            foreign_keys=(_REP_FK,),
            rules=("period_end is not before period_start",),
            doc="Forecast submissions: what a rep said, when, about which period.",
            columns=(
                Column("rep_id", "id", doc="The rep who submitted it."),
                Column("submitted_at", "timestamp", doc="When it was submitted."),
                Column("period_start", "date", doc="First day of the forecast period."),
                Column("period_end", "date", doc="Last day of the forecast period (inclusive)."),
                Column("amount", "number", minimum=0, doc="Forecast won amount for the period."),
                Column(
                    "category",
                    "category",
                    required=False,
                    nullable=True,
                    values=FORECAST_CATEGORIES,
                    doc="commit or best_case.",
                ),
            ),
        ),
        Table(
            "quotas",
            foreign_keys=(_REP_FK,),
            key=("rep_id", "period_start"),
            rules=("period_end is not before period_start",),
            doc="Quota per rep per period (usually a month).",
            columns=(
                Column("rep_id", "id", doc="The rep."),
                Column("period_start", "date", doc="First day of the quota period."),
                Column("period_end", "date", doc="Last day of the quota period (inclusive)."),
                Column("quota", "number", minimum=0, doc="Won amount expected in the period."),
            ),
        ),
        Table(
            "trainings",
            foreign_keys=(_REP_FK,),
            doc="Trainings completed, each aimed at one competency.",
            columns=(
                Column("rep_id", "id", doc="The rep trained."),
                Column(
                    "competency",
                    "category",
                    values=COMPETENCIES,
                    doc="The competency the training targets.",
                ),
                Column("completed_at", "timestamp", doc="When the training was completed."),
            ),
        ),
    )
}

#: Tables in the order they are validated and documented (referenced tables first).
TABLE_ORDER: tuple[str, ...] = tuple(TABLES)

REQUIRED_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.required)
