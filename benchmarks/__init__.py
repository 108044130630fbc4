"""Benchmarks of the portal: run ``python -m benchmarks --help``."""
