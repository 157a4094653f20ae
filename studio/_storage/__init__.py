"""Storage: the ORM models, the database handle and its migrations."""
