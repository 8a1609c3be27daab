"""Domain-free building blocks (time, crypto, pagination)."""
