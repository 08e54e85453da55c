"""Benchmarks. Not tests: each prints its figure next to a bare baseline measured in the same run."""
