"""Schema operations that keep a large portal answering while they run.

``AddIndexOnline`` builds an index with ``CREATE INDEX CONCURRENTLY`` on PostgreSQL, so adding an
index to a table of a million servers blocks no request or worker for the minutes it takes; on
other databases (the newcomer's SQLite) it is a plain ``AddIndex``. ``RemoveIndexOnline`` drops
one the same way (``DROP INDEX CONCURRENTLY``). A migration using them must set
``atomic = False`` (PostgreSQL builds and drops concurrent indexes outside a transaction).
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class _ConcurrentOnPostgres:
    """Runs the operation's concurrent twin on PostgreSQL and the operation itself elsewhere."""

    def concurrent(self) -> migrations.operations.base.Operation:
        raise NotImplementedError

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            self.concurrent().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            self.concurrent().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddIndexOnline(_ConcurrentOnPostgres, migrations.AddIndex):
    def concurrent(self) -> AddIndexConcurrently:
        return AddIndexConcurrently(self.model_name, self.index)


class RemoveIndexOnline(_ConcurrentOnPostgres, migrations.RemoveIndex):
    def concurrent(self) -> RemoveIndexConcurrently:
        return RemoveIndexConcurrently(self.model_name, self.name)
