"""The model catalog: LiteLLM's models mirrored with catalog metadata, capabilities and restriction."""
