"""The chat playground: a user's chat calls made by the backend through the LiteLLM proxy."""
