"""Browser pages of provisioning, one module per area: requests, approvals, resources, operators."""
