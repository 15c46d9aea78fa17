"""Long runs of the abuse tests: `python -m scripts.fuzz`, `python -m scripts.load`."""
