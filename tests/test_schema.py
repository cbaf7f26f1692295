"""The data contract: internal consistency and the data dictionary in docs/ kept in step."""

from __future__ import annotations

from pathlib import Path

from salesx2lib.schema import REQUIRED_TABLES, TABLES

DOC = (Path(__file__).resolve().parents[1] / "docs" / "data-model.md").read_text(encoding="utf-8")


def test_required_tables_are_reps_and_opportunities():
    assert REQUIRED_TABLES == ("reps", "opportunities")


def test_keys_and_references_name_real_columns():
    for table in TABLES.values():
        assert set(table.key) <= set(table.names), table.name
        for fk in table.foreign_keys:
            assert fk.column in table.names
            assert fk.target in TABLES[fk.table].names


def test_every_column_is_in_the_data_dictionary_with_its_presence_and_emptiness():
    for table in TABLES.values():
        section = DOC.split(f"### `{table.name}`", 1)[1].split("\n### ", 1)[0]
        for col in table.columns:
            row = next((line for line in section.splitlines() if line.startswith(f"| `{col.name}` |")), None)
            assert row is not None, f"docs/data-model.md: {table.name}.{col.name} is not documented"
            cells = [c.strip() for c in row.split("|")[1:-1]]
            assert cells[2] == ("yes" if col.required else "no"), f"{table.name}.{col.name} presence"
            assert cells[3] == ("yes" if col.nullable else "no"), f"{table.name}.{col.name} emptiness"
        for rule in table.rules:
            assert rule in section, f"{table.name}: rule {rule!r} is not documented"
