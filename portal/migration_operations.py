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


class AddIndexOnline(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            online = AddIndexConcurrently(self.model_name, self.index)
            online.database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            online = AddIndexConcurrently(self.model_name, self.index)
            online.database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexOnline(migrations.RemoveIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            online = RemoveIndexConcurrently(self.model_name, self.name)
            online.database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            online = RemoveIndexConcurrently(self.model_name, self.name)
            online.database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)
