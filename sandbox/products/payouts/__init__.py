"""Payouts: beneficiaries, single and batch transfers with a bank lifecycle on the sandbox clock, fund sources
and their statement (EnKash's Payouts APIs, ../shared/reference/enkash-other.md §2)."""
