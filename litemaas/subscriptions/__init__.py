"""Subscriptions to models and the approval workflow."""
