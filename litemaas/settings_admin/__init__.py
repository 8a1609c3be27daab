"""Admin-editable platform settings (API key defaults, maximums and the per-user key cap)."""
