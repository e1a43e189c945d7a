"""DataTable helpers shared by the tabs."""

from __future__ import annotations

from textual.widgets import DataTable


def cursor_row_key(table: DataTable) -> str | None:
    """The key of the row under the table's cursor (None if the table is empty)."""
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:
        return None
    return key.value if key else None
