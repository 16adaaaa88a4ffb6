"""Storage: SQLAlchemy tables, database setup and migrations, and the queries over them."""
