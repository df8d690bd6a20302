"""Sandbox tenants (provisioning, funding, per-tenant reset) and the seeded demo tenant."""
