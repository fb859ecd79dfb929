"""Benchmark harness for taskhub (see bench/README.md)."""
