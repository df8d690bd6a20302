"""Storage: SQLModel tables and the database engine. The only place that knows SQL."""
