"""PostgreSQL adapter (SQLAlchemy 2 + psycopg 3): tables, repositories and Alembic migrations."""
