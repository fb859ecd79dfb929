"""Idempotency-Key on POST (SPEC §10): one execution per (caller, key), replayed for 24 h."""
