"""The listing's Core tables (``bot.store.listing``) name real columns of the SQLModel tables, with their types.

``incidentbot list`` reads through lightweight ``sa.table`` clauses so that it need not build the ORM; if a
column were renamed or retyped in ``bot.store.tables`` (and a migration) without them, this fails.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.store.columns import UTCDateTime
from bot.store.listing import INCIDENTS, TIMELINE
from bot.store.tables import IncidentRow, TimelineEntryRow

ORM_TABLES: dict[str, sa.Table] = {
    "incidents": IncidentRow.__table__,  # type: ignore[attr-defined]
    "timeline_entries": TimelineEntryRow.__table__,  # type: ignore[attr-defined]
}


@pytest.mark.parametrize(
    ("core", "names"),
    [
        (
            INCIDENTS,
            [
                "id",
                "number",
                "title",
                "severity",
                "status",
                "lead",
                "channel_id",
                "declared_at",
                "resolved_at",
                "private",
                "channel_problem",
                "service",
            ],
        ),
        (TIMELINE, ["id", "incident_id", "kind", "occurred_at", "recorded_at", "actor", "text", "data"]),
    ],
)
def test_each_core_column_is_a_column_of_the_orm_table_of_the_same_type(core: sa.TableClause, names: list[str]) -> None:
    table = ORM_TABLES[core.name]
    assert [c.name for c in core.columns] == names
    for column in core.columns:
        stored = table.c[column.name].type
        # The same kind of value (SQLModel's AutoString is a String, the JSON variant JSON, UTCDateTime a DateTime).
        assert stored._type_affinity is column.type._type_affinity, (column.name, stored, column.type)
        # Timestamps must come back aware UTC: the same TypeDecorator, not a plain DateTime.
        assert isinstance(column.type, UTCDateTime) == isinstance(stored, UTCDateTime), column.name
