"""Card accounts, cards, loads, card search and the transaction list."""
