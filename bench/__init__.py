"""Benchmarks: Farebox's import time and per-call / per-chunk overhead over raw aiohttp (`python -m bench.run`)."""
