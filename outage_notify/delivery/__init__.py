"""Delivery: the outbox, claims, the dispatcher and its fan-out, recovery, rate limits, daemon."""
