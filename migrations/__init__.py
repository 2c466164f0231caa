"""Alembic migrations, shipped in the wheel as the package ``xueji_migrations``."""
