"""Compass in Python: a management plane connecting Applications to Runtimes."""

__version__ = "0.1.0"
