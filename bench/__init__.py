"""Benchmarks: ``python -m bench.NAME [--quick]``; each prints ``name: value unit`` lines."""
