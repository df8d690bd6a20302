"""Fault injection: one engine, three triggers (header, admin rules, magic values)."""
