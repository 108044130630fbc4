"""portalctl: a small command-line client of the portal's REST API (standard library only)."""

__version__ = "1.0.0"
