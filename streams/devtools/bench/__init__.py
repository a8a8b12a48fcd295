"""Benchmarks that ship with douane (``douane bench ...``)."""
