"""Access: what LiteLLM grants each key, and the locks and pushes that keep it true.

The one owner of the grant rule (models LiteLLM grants a key = models on the key ∩ the owner's
active subscriptions, of live models), the per-user key lock, the key-access change set, blocking
a deactivated user's keys and creating a user's LiteLLM counterpart. It calls no other domain.
"""
