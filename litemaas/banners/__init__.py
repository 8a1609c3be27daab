"""Banners: messages across the top of the portal's pages, for chosen roles, within a time window."""
