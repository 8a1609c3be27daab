"""Admin API tokens: scoped, expiring credentials for scripts, hashed at rest and shown once."""
