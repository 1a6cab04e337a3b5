"""Database layer: models, engine and session helpers, queries and Alembic migrations."""
