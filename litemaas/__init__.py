"""LiteMaaS."""
