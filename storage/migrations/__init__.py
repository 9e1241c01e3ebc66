"""Alembic migrations of the Regelkreis schema."""
