"""LiteMaaS extensions for the stock LiteLLM proxy, loaded through LiteLLM's own extension points.

Self-contained on purpose: only the standard library, ``litellm`` and what the LiteLLM image
ships (fastapi, httpx, pydantic) are imported, never ``litemaas``, so the stock container with
this directory on ``PYTHONPATH`` runs them unchanged.

- ``proxy_hooks.capability_hooks``: ``litellm_settings.callbacks`` entry; rejects calls this
  proxy does not serve (``endpoints``) or whose endpoint does not match the model's capabilities,
  and mounts the capability routes and the request-size bound (``body_limit``).
- ``routes``: ``/v1/tokenize``, ``/v1/detokenize`` and ``/docling/v1/*`` behind LiteLLM auth;
  ``docling`` (paths, URL fields, page counts), ``url_policy`` (public http(s) URLs only) and
  ``docling_tasks`` (async task owner, charge once) serve the docling route.
- ``safety.LlamaGuardGuardrail``: ``guardrails`` entry screening whole requests (``screening``)
  with a Llama Guard model.
- ``redaction``: error answers of the proxy never carry a key, key hash or model id.
"""
