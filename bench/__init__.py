"""Benchmarks of Learning Loop: each prints its figures; full runs are recorded in RESULTS.md."""
