"""A local assistant that answers questions from policy documents, citing the exact passages."""

__version__ = "0.1.0"
