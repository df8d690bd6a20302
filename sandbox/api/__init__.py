"""Vendor routers: one module per product area. Thin: parse, call the domain, shape the envelope."""
