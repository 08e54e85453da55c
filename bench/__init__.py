"""Benchmarks, not tests: each prints its figure next to a bare baseline from the same run."""
