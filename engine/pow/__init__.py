"""Proof of work: Numba kernels (nogil, cached), their plain-Python references, and verification."""
