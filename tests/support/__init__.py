"""Reusable test helpers: a cuttable TCP proxy, subprocess fixtures, test-only jobs."""
