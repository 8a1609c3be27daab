"""Usage analytics: a day-by-day copy of LiteLLM's spend aggregate, queries, exports."""
