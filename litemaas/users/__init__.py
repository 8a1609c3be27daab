"""Users: identity, roles, activation."""
