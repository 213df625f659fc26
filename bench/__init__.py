"""Benchmarks and their corpora (development tooling; not part of the installed package)."""
