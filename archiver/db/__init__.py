"""The archive database: one module owns the schema (migrations) and all SQL that writes it."""
from .archive import Archive, ArticleOutcome
from .schema import SCHEMA_TABLES, applied_migrations, migrate, open_db

__all__ = ["Archive", "ArticleOutcome", "SCHEMA_TABLES", "applied_migrations", "migrate", "open_db"]
