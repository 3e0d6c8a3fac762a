"""Benchmark helpers: pandas reference metrics, page timings, load test (see csi_metrics/bench.py)."""
