"""SQL storage for the identity server (SQLAlchemy 2 Core; SQLite and PostgreSQL)."""
