"""Audit log: every state change, who made it, before and after — never a secret."""
