"""Operational jobs (reconcile, ...): CLI commands of the same package, also run from admin endpoints."""
