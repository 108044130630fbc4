"""The access generation: one row, bumped after every committed change of anyone's access."""

from django.db import models


class AccessGeneration(models.Model):
    """What ``tenants.access_memory`` remembers is keyed by ``value``.

    A row in the database rather than a counter in Redis: every process already reads the
    database, the demo has no shared cache, and the bump is written after its change commits, so
    no process can see the new value before the change itself.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField()

    class Meta:
        db_table = "tenants_accessgeneration"

    def __str__(self) -> str:
        return f"access generation {self.value}"
