"""Who started which async docling-serve task, and whether its result was charged already.

docling-serve's task ids are bearer tokens to its results: anyone who knows one may poll it and
fetch the converted document. The proxy therefore records, when a key starts a task, the key's
token hash (LiteLLM's ``UserAPIKeyAuth.token``) and model; only that key may then poll or fetch
the task, every other caller gets the same 404 as for an unknown task. The first successful
result fetch is charged; fetching it again (docling-serve keeps results for a while) is not.

With the proxy's coordination Redis (``general_settings.coordination_redis``, which LiteMaaS
configures whenever several replicas run) the records live there, with a TTL, so any replica
can serve the poll and the "charged" mark is a single ``SET NX``. Without Redis they live in
this process, which is right for one replica with one worker only.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Final

_PREFIX: Final = "litemaas:docling:task:"
_LOCAL_MAX: Final = 50_000


class TaskStoreUnavailable(RuntimeError):
    """The shared task store could not be read or written."""


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """The key (token hash) and model that started a task, and whether the proxy added ``json``."""

    owner: str
    model: str
    strip_json: bool


class TaskStore:
    """Task ownership and charge-once marks, in the proxy's Redis when it has one."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl = max(1, int(ttl_s))
        self._records: OrderedDict[str, tuple[float, TaskRecord]] = OrderedDict()
        self._charged: OrderedDict[str, float] = OrderedDict()

    async def bind(self, task_id: str, record: TaskRecord) -> None:
        redis = _redis()
        if redis is None:
            self._local_put(self._records, task_id, (time.monotonic() + self._ttl, record))
            return
        try:
            await redis.set(_key(task_id), json.dumps(asdict(record)), ex=self._ttl)
        except Exception as exc:  # noqa: BLE001  any Redis failure means: not recorded (the route answers 503)
            raise TaskStoreUnavailable(type(exc).__name__) from None

    async def lookup(self, task_id: str) -> TaskRecord | None:
        redis = _redis()
        if redis is None:
            entry = self._records.get(task_id)
            return entry[1] if entry is not None and entry[0] > time.monotonic() else None
        try:
            raw = await redis.get(_key(task_id))
        except Exception as exc:  # noqa: BLE001  any Redis failure means: no answer (the route answers 503, never a guess)
            raise TaskStoreUnavailable(type(exc).__name__) from None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return TaskRecord(owner=str(data["owner"]), model=str(data["model"]), strip_json=bool(data["strip_json"]))
        except (ValueError, KeyError, TypeError):
            return None

    async def claim_charge(self, task_id: str) -> bool:
        """True exactly once per task, for the fetch that gets charged."""
        redis = _redis()
        if redis is None:
            expiry = self._charged.get(task_id)
            if expiry is not None and expiry > time.monotonic():
                return False
            self._local_put(self._charged, task_id, time.monotonic() + self._ttl)
            return True
        try:
            return bool(await redis.set(_key(task_id) + ":charged", "1", nx=True, ex=self._ttl))
        except Exception as exc:  # noqa: BLE001  any Redis failure means: no answer (the route answers 503, never a guess)
            raise TaskStoreUnavailable(type(exc).__name__) from None

    @staticmethod
    def _local_put(table: OrderedDict[str, Any], task_id: str, value: Any) -> None:
        table[task_id] = value
        table.move_to_end(task_id)
        now = time.monotonic()
        while table:
            oldest = next(iter(table.values()))
            expiry = oldest[0] if isinstance(oldest, tuple) else oldest
            if expiry > now and len(table) <= _LOCAL_MAX:
                break
            table.popitem(last=False)


def _key(task_id: str) -> str:
    # Task ids come from the URL; hashing keeps the Redis key short and free of odd characters.
    return _PREFIX + hashlib.sha256(task_id.encode()).hexdigest()


def _redis() -> Any:
    """The proxy's coordination Redis client (redis.asyncio), or None when none is configured."""
    from litellm.proxy import proxy_server  # noqa: PLC0415  proxy_server builds LiteLLM's whole app on import: reached only inside the running proxy

    cache = getattr(proxy_server, "redis_usage_cache", None)
    return cache.init_async_client() if cache is not None else None
