"""The provisioning tests' shop (a site, two domains, a tenant, its people), for the metrics
tests."""

from tests.provisioning.conftest import shop  # noqa: F401
