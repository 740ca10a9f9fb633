"""Benchmark harness: round trips and wall time per cohort size and provider."""
