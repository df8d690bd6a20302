"""The ledger: every money movement (and nothing else) changes a balance; the integrity audit."""
