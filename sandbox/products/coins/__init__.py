"""EnKash coins: event configurations, idempotent allocation, balances."""
