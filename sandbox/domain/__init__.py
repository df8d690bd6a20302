"""Business rules: ledger, tenants, cards, rewards, redemption, coins. No HTTP in here."""
