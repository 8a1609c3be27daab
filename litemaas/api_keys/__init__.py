"""Users' LiteLLM virtual keys: create, list with spend, edit, rotate, revoke; keys follow subscriptions."""
