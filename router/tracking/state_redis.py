"""Shared state on Redis: cooldowns, rpm/tpm windows, latency and budget reservations, each one Lua round trip.

Keys are `{prefix}:{kind}:{name}` and every key has a TTL. Time comes from the Redis server (TIME), so hosts
with skewed clocks agree on cooldowns and windows. Money is integer pico-dollars (1e-12 USD), as in the ledger.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from router.tracking.state_local import Limit, LocalState, Outage, Over, Pick
from vendors.errors import BudgetExceededError, ConfigError

__all__ = ["Over", "RedisState", "Ticket", "to_pico"]

_PICO = Decimal(10**12)
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS: per label cool, rpm, tpm. ARGV: tokens, member, then per label rpm, tpm (-1: none).
_PICK = _NOW + """
local tokens, id = tonumber(ARGV[1]), ARGV[2]
local cooled, limited, wait = {}, {}, -1
for i = 1, #KEYS / 3 do
  local cool, rk, tk = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local rpm, tpm = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local untl = redis.call('GET', cool)
  if untl and tonumber(untl) > now then
    cooled[#cooled + 1] = i
  else
    local w, start = -1, now - 60000
    if rpm >= 0 then
      redis.call('ZREMRANGEBYSCORE', rk, '-inf', start)
      if redis.call('ZCARD', rk) >= rpm then
        w = tonumber(redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')[2]) + 60000 - now
      end
    end
    if w < 0 and tpm >= 0 then
      redis.call('ZREMRANGEBYSCORE', tk, '-inf', start)
      local sum, items = 0, redis.call('ZRANGE', tk, 0, -1)
      for _, m in ipairs(items) do sum = sum + tonumber(string.match(m, ':(%d+)$')) end
      if #items > 0 and sum + tokens > tpm then
        w = tonumber(redis.call('ZRANGE', tk, 0, 0, 'WITHSCORES')[2]) + 60000 - now
      end
    end
    if w < 0 then
      if rpm >= 0 then redis.call('ZADD', rk, now, id) redis.call('PEXPIRE', rk, 61000) end
      if tpm >= 0 then redis.call('ZADD', tk, now, id .. ':' .. tokens) redis.call('PEXPIRE', tk, 61000) end
      return {i, cooled, limited, 0}
    end
    limited[#limited + 1] = i
    if wait < 0 or w < wait then wait = w end
  end
end
return {0, cooled, limited, wait}
"""

# KEYS: cool, fails. ARGV: cool_ms (-1: count a failure), allowed_fails, window_ms, cooldown_ms, member.
_FAILED = _NOW + """
local cool_ms = tonumber(ARGV[1])
if cool_ms < 0 then
  local window = tonumber(ARGV[3])
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('PEXPIRE', KEYS[2], window)
  if redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[2]) then return 0 end
  redis.call('DEL', KEYS[2])
  cool_ms = tonumber(ARGV[4])
end
if cool_ms <= 0 then return 0 end
local untl = now + cool_ms
local old = redis.call('GET', KEYS[1])
if (not old) or tonumber(old) < untl then redis.call('SET', KEYS[1], untl, 'PX', cool_ms) end
return 1
"""

# KEYS: latency. ARGV: seconds. A moving average, as LocalState keeps.
_LATENCY = """
local old, new = redis.call('GET', KEYS[1]), tonumber(ARGV[1])
if old then new = 0.7 * tonumber(old) + 0.3 * new end
redis.call('SET', KEYS[1], tostring(new), 'EX', 3600)
return 1
"""

# KEYS: per budget spent, held. ARGV: member, ttl_ms, amount, then per budget limit, seed ('' unknown), spent_ttl_s.
_RESERVE = _NOW + """
local m, ttl, amount = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n, missing = #KEYS / 2, {}
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 0 then
    local seed = ARGV[3 * i + 2]
    if seed == '' then missing[#missing + 1] = i
    else redis.call('SET', KEYS[2 * i - 1], seed, 'EX', ARGV[3 * i + 3], 'NX') end
  end
end
if #missing > 0 then return {-1, missing} end
for i = 1, n do
  local held = KEYS[2 * i]
  redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
  local sum = 0
  for _, x in ipairs(redis.call('ZRANGE', held, 0, -1)) do sum = sum + tonumber(string.match(x, '|(%d+)$')) end
  local spent = redis.call('GET', KEYS[2 * i - 1])
  if tonumber(spent) + sum + amount > tonumber(ARGV[3 * i + 1]) then
    return {i, spent, string.format('%.0f', sum)}
  end
end
for i = 1, n do
  redis.call('ZADD', KEYS[2 * i], now + ttl, m .. '|' .. ARGV[3])
  if redis.call('PTTL', KEYS[2 * i]) < ttl + 1000 then redis.call('PEXPIRE', KEYS[2 * i], ttl + 1000) end
end
return {0}
"""

# KEYS: per budget spent, held. ARGV: member, cost. The claim ends; its real cost joins the period's spend.
_SETTLE = """
for i = 1, #KEYS / 2 do
  redis.call('ZREM', KEYS[2 * i], ARGV[1])
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 1 and ARGV[2] ~= '0' then
    redis.call('INCRBY', KEYS[2 * i - 1], ARGV[2])
  end
end
return 1
"""


def to_pico(usd: Decimal) -> int:
    """USD as integer pico-dollars, rounded up (a budget never under-counts)."""
    return int((usd * _PICO).to_integral_value(ROUND_CEILING))


class Ticket:
    """A reservation held on Redis: the keys it sits under and its member."""

    __slots__ = ("keys", "member", "settled")

    def __init__(self, keys: list[str], member: str) -> None:
        self.keys, self.member, self.settled = keys, member, False


class RedisState:
    """State shared by every process that names the same Redis URL and prefix."""

    shared = True

    def __init__(self, url: str, *, prefix: str = "farebox", timeout: float = 0.5, reservation_ttl: float = 300.0,
                 budget_on_error: str = "closed") -> None:
        try:
            import redis.asyncio  # noqa: F401  # lazy: redis-py is the optional [redis] extra
        except ImportError as exc:
            raise ConfigError("state on Redis needs redis-py: pip install 'farebox[redis]'") from exc
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query)
                 if k not in ("prefix", "timeout", "reservation_ttl", "budget_on_error")]
        self._client_url = urlunsplit(parts._replace(query=urlencode(query)))
        self.url = urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""),
                                             query="")) if parts.hostname else url
        self.prefix, self.timeout, self.reservation_ttl = prefix, timeout, reservation_ttl
        self.budget_on_error = budget_on_error
        self.local = LocalState()  # used while Redis does not answer (fail open)
        self.outage = Outage(f"shared state {self.url}",)
        self._clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._scripts: dict[str, Any] = {}
        self._member = f"{uuid.uuid4().hex[:12]}-"
        self._seq = itertools.count()

    # -- plumbing ------------------------------------------------------------------------------------
    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # lazy: redis-py, the optional [redis] extra, loads with the first Redis call
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as Dropped

            # One quick retry: a pooled connection that a Redis restart closed reconnects instead of failing.
            client = aioredis.Redis.from_url(self._client_url, socket_timeout=self.timeout,
                                             socket_connect_timeout=self.timeout, retry=Retry(NoBackoff(), 1),
                                             retry_on_error=[Dropped], health_check_interval=0)
            self._clients[loop] = client
        return client

    def _script(self, client: Any, source: str) -> Any:
        # register_script sends EVALSHA (falling back to EVAL once after a restart emptied the script cache)
        key = (id(client), source)
        script = self._scripts.get(key)  # type: ignore[call-overload]
        if script is None:
            script = self._scripts[key] = client.register_script(source)  # type: ignore[index]
        return script

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def _id(self) -> str:
        return f"{self._member}{next(self._seq):x}"

    async def _call(self, source: str, keys: list[str], args: list[Any]) -> Any:
        import redis.exceptions  # lazy: the optional [redis] extra (checked in __init__)

        client = self._client()
        try:
            result = await self._script(client, source)(keys=keys, args=args)
        except (TimeoutError, redis.exceptions.RedisError, OSError) as exc:
            if isinstance(exc, redis.exceptions.ResponseError) and "NOSCRIPT" not in str(exc):
                raise  # a bug in a script, not an outage
            raise _Down(exc) from exc
        self.outage.ok()
        return result

    # -- routing ---------------------------------------------------------------------------------------
    async def pick(self, labels: Sequence[str], limits: Sequence[Limit | None], tokens: int) -> Pick:
        if self.outage.down:
            return self.local.pick_now(labels, limits, tokens)
        keys: list[str] = []
        args: list[Any] = [tokens, self._id()]
        for label, limit in zip(labels, limits, strict=True):
            keys += [self.key("cool", label), self.key("rpm", label), self.key("tpm", label)]
            rpm = limit.rpm if limit is not None and limit.rpm is not None else -1
            tpm = limit.tpm if limit is not None and limit.tpm is not None else -1
            args += [rpm, tpm]
        try:
            index, cooled, limited, wait = await self._call(_PICK, keys, args)
        except _Down as down:
            self.outage.failed(down.exc, "cooldowns and rate limits are this process's own")
            return self.local.pick_now(labels, limits, tokens)
        return Pick(int(index) - 1 if index else None, [labels[int(i) - 1] for i in cooled],
                    [labels[int(i) - 1] for i in limited], max(float(wait), 0.0) / 1000)

    async def latencies(self, labels: Sequence[str]) -> list[float | None]:
        if self.outage.down:
            return await self.local.latencies(labels)
        import redis.exceptions  # lazy: the optional [redis] extra (checked in __init__)

        try:
            values = await self._client().mget([self.key("lat", label) for label in labels])
        except (TimeoutError, redis.exceptions.RedisError, OSError) as exc:
            self.outage.failed(exc, "latency statistics are this process's own")
            return await self.local.latencies(labels)
        self.outage.ok()
        return [float(v) if v is not None else None for v in values]

    async def failed(self, label: str, *, cool_s: float | None, allowed_fails: int, fail_window_s: float,
                     cooldown_s: float) -> None:
        self.local.failed_now(label, cool_s=cool_s, allowed_fails=allowed_fails, fail_window_s=fail_window_s,
                              cooldown_s=cooldown_s)  # kept too: it serves while Redis is away
        if self.outage.down:
            return
        args = [int(cool_s * 1000) if cool_s is not None else -1, allowed_fails, int(fail_window_s * 1000),
                int(cooldown_s * 1000), self._id()]
        try:
            await self._call(_FAILED, [self.key("cool", label), self.key("fails", label)], args)
        except _Down as down:
            self.outage.failed(down.exc, "cooldowns are this process's own")

    async def succeeded(self, label: str, latency: float) -> None:
        self.local.succeeded_now(label, latency)
        if self.outage.down:
            return
        try:
            await self._call(_LATENCY, [self.key("lat", label)], [repr(latency)])
        except _Down as down:
            self.outage.failed(down.exc, "latency statistics are this process's own")

    # -- budgets ---------------------------------------------------------------------------------------
    async def reserve(self, claims: list[tuple[str, Decimal, int]], amount: Decimal,
                      seed: Callable[[list[int]], Any], ttl: float | None = None) -> Ticket | None:
        """Claim `amount` under every (budget key, limit, spent key TTL) at once, or BudgetExceededError.

        `seed(indexes)` awaits the ledger's spend for budgets Redis has no total for yet (first call of a
        period, or after a restart) and returns {index: Decimal}.
        """
        member = self._id()
        ttl_ms = int((ttl or self.reservation_ttl) * 1000)
        keys = [k for key, _, _ in claims for k in (key + ":spent", key + ":held")]
        seeds: dict[int, Decimal] = {}
        for _ in range(3):
            args: list[Any] = [member, ttl_ms, to_pico(amount)]
            for i, (_, limit, spent_ttl) in enumerate(claims):
                args += [to_pico(limit), str(to_pico(seeds[i])) if i in seeds else "", spent_ttl]
            try:
                if self.outage.down:
                    raise _Down(ConnectionError(self.outage.last_error or "unreachable"))
                result = await self._call(_RESERVE, keys, args)
            except _Down as down:
                self.outage.failed(down.exc, f"budgets fail {self.budget_on_error}")
                if self.budget_on_error == "open":
                    return None
                raise BudgetExceededError(
                    f"budgets cannot be checked: shared state {self.url} is unreachable ({down.exc})",
                    hint="budgets fail closed; add ?budget_on_error=open to the state URL to let calls go on "
                         "unchecked while Redis is away") from None
            status = int(result[0])
            if status == 0:
                return Ticket(keys, f"{member}|{to_pico(amount)}")
            if status == -1:
                missing = [int(i) - 1 for i in result[1]]
                seeds.update(await seed(missing))
                continue
            spent = Decimal(int(result[1])) / _PICO
            held = Decimal(int(result[2])) / _PICO
            raise Over(status - 1, spent, held)
        raise BudgetExceededError("budget totals kept disappearing from Redis while being seeded (restarts?)")

    async def settle(self, ticket: Ticket, cost: Decimal) -> None:
        if ticket.settled:
            return
        ticket.settled = True
        try:
            await self._call(_SETTLE, ticket.keys, [ticket.member, str(to_pico(cost)) if cost > 0 else "0"])
        except _Down as down:  # the claim expires by itself; the cost is in the ledger the next seed reads
            self.outage.failed(down.exc, f"budgets fail {self.budget_on_error}")

    # -- doctor / lifecycle ------------------------------------------------------------------------------
    async def describe(self) -> dict[str, Any]:
        import redis.exceptions  # lazy: the optional [redis] extra (checked in __init__)

        began = time.perf_counter()
        try:
            client = self._client()
            await client.ping()
            latency = time.perf_counter() - began
            info = await client.info("server")
            count = 0
            async for _ in client.scan_iter(match=f"{self.prefix}:*", count=1000):
                count += 1
                if count >= 100_000:
                    break
        except (TimeoutError, redis.exceptions.RedisError, OSError) as exc:
            return {"backend": "redis", "url": self.url, "reachable": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"backend": "redis", "url": self.url, "reachable": True, "latency_ms": round(latency * 1000, 3),
                "server": info.get("redis_version"), "prefix": self.prefix, "keys": count,
                "budget_on_error": self.budget_on_error}

    async def aclose(self) -> None:
        try:
            client = self._clients.pop(asyncio.get_running_loop())
        except KeyError:
            return
        await client.aclose()


class _Down(Exception):
    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc
