"""simplicity_bias: fast, seeded reproductions of simplicity-bias and input-gradient experiments."""

__version__ = "0.1.0"
