"""Storage: SQLAlchemy 2 (async) tables, engine and Alembic migrations."""
