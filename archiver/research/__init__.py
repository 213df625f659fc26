"""Research tools over the archive: the report and exports (read-only)."""
