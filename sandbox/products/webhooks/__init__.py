"""Webhooks: partners' registrations, the outbox every event is written to, and its delivery."""
