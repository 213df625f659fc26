"""Chinese full-text search over the archive (the rule in ``zh``, the SQL in ``sql``)."""
from .zh import RULE_VERSION, first_term, fts_query, shadow

__all__ = ["RULE_VERSION", "first_term", "fts_query", "shadow"]
