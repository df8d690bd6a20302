"""Storage: SQLModel tables, the database engine, snapshots and the control state. Prebuilt statements (store/sql.py)
are written by the ledger and the services that own them; nothing above the store opens a connection itself."""
