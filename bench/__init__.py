"""Benchmarks: a synthetic municipality generator and the timing table (`python -m bench.run`)."""
