"""Router: deployments grouped by alias, picked by strategy, cooled down on failure, with fallbacks."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

import pricing
from router import loop, retry, tracking
from router.api import acompletion, prepare
from router.config import Deployment, RouterConfig, load_config, validation_problems
from router.estimate import expected_cost, prompt_bytes
from router.litellm import router_options
from router.params import check
from router.resolve import resolve
from router.streaming import SyncStream, open_stream
from router.tracking import state as state_mod
from router.tracking.budgets import Budget, Budgets
from router.tracking.settings import shared_state
from router.tracking.spending import spend
from vendors.catalogue import lookup
from vendors.errors import (
    AllDeploymentsFailedError,
    AuthenticationError,
    ConfigError,
    ContentPolicyError,
    ContextWindowExceededError,
    FareboxError,
    InsufficientBalanceError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitError,
)
from vendors.types import Attempt

__all__ = ["Deployment", "Router", "RouterConfig"]

_ACCOUNT_ERRORS = (AuthenticationError, InsufficientBalanceError, PermissionDeniedError)

class Router:
    """Aliases over deployments; `completion`/`acompletion` take an alias (or any model name)."""

    def __init__(self, deployments: Iterable[Mapping[str, Any] | Deployment] | None = None, *, state: Any = None,
                 **options: Any) -> None:
        if state is not None and not isinstance(state, str):
            self._state: Any = state  # a State object (router.tracking.state)
            state = None
        else:
            self._state = None  # resolved on first call: configure(state=...) may come after the Router
        deployments, options = router_options(deployments, options)  # LiteLLM's model_list and spellings
        try:
            self.config = RouterConfig(deployments=list(deployments or []), state=state, **options)
        except ValidationError as exc:
            raise ConfigError(f"invalid Router configuration: {validation_problems(exc)}") from None
        self._groups: dict[str, list[Deployment]] = {}
        for dep in self.config.deployments:
            self._groups.setdefault(dep.alias, []).append(dep)
        for table in (self.config.fallbacks, self.config.context_window_fallbacks,
                      self.config.content_policy_fallbacks):
            for alias, targets in table.items():
                for name in [alias, *targets]:
                    if name not in self._groups:
                        raise ConfigError(f"fallback names unknown alias {name!r}; aliases: {', '.join(self._groups)}")
        self._params = {d.label: self._check(d) for d in self.config.deployments}
        self._limits = {d.label: state_mod.Limit(d.rpm, d.tpm) if d.rpm or d.tpm else None
                        for d in self.config.deployments}
        self._rng = random.Random()
        self._listeners: list[Callable[[Any], Any]] = []
        self._budgets = Budgets(self._budget_list(), state=self._state) or None

    @staticmethod
    def _check(dep: Deployment) -> dict[str, Any]:
        """A deployment that could never answer is an error now, naming it: unknown model, no key, bad params."""
        try:
            params = check(dep.model, [{"role": "user", "content": "-"}], dict(dep.params))
            params.pop("_messages")
            resolve(dep.model, base_url=dep.base_url, region=dep.region, wire=dep.wire,
                    api_key=dep.api_key.get_secret_value() if dep.api_key else None)
        except (ConfigError, InvalidRequestError) as exc:
            raise ConfigError(f"deployment {dep.label!r}: {exc.message}", vendor=exc.vendor, model=dep.model,
                              hint=exc.hint) from None
        return params

    def _budget_list(self) -> list[Budget]:
        config, out = self.config, list(self.config.budgets)
        limits: dict[str, tuple[Decimal, str]] = {}
        if isinstance(config.max_budget, dict):
            for alias, usd in config.max_budget.items():
                if alias not in self._groups:
                    raise ConfigError(f"max_budget names unknown alias {alias!r}; aliases: {', '.join(self._groups)}")
                limits[alias] = (usd, config.budget_period)
        elif config.max_budget is not None:
            limits = {alias: (config.max_budget, config.budget_period) for alias in self._groups}
        for dep in config.deployments:
            if dep.max_budget is None:
                continue
            limit = (dep.max_budget, dep.budget_period or config.budget_period)
            if limits.setdefault(dep.alias, limit) != limit:
                raise ConfigError(f"alias {dep.alias!r} has two budgets (${limits[dep.alias][0]} per "
                                  f"{limits[dep.alias][1]} and ${limit[0]} per {limit[1]}); give it one")
        try:
            out += [Budget(scope=f"alias:{alias}", period=period, max_usd=usd)
                    for alias, (usd, period) in limits.items()]
        except ValidationError as exc:
            raise ConfigError(f"invalid Router budget: {exc.errors()[0]['msg']}") from None
        return out

    @property
    def aliases(self) -> list[str]:
        """The alias names this Router serves, in configuration order."""
        return list(self._groups)

    @classmethod
    def from_file(cls, path: str) -> Router:
        """A Router from a YAML or JSON file; `${ENV_VAR}` values are read from the environment."""
        return cls(**load_config(path))

    # -- health ------------------------------------------------------------------------------------
    @property
    def state(self) -> Any:
        """Where this Router's cooldowns, rate limits, latency and budget reservations live."""
        if self._state is None:
            self._state = shared_state(self.config.state)
            if self._budgets is not None:
                self._budgets.state = self._state
        return self._state

    def cooled_down(self, dep: Deployment, now: float | None = None) -> bool:
        """Whether this process sees `dep` cooling down (shared state: as last heard from Redis)."""
        state = self.state
        return (state if not state.shared else state.local).cooled(dep.label, now)

    async def _failed(self, dep: Deployment, exc: FareboxError) -> None:
        if isinstance(exc, RateLimitError) and exc.retry_after:
            cool: float | None = exc.retry_after
        elif isinstance(exc, _ACCOUNT_ERRORS):  # the key or account is the problem: stop using it for a while
            cool = self.config.cooldown_s
        elif not exc.retryable:
            return  # a bad request says nothing about the deployment's health
        else:
            cool = None  # counted: allowed_fails within fail_window_s cool it down
        await self.state.failed(dep.label, cool_s=cool, allowed_fails=self.config.allowed_fails,
                                fail_window_s=self.config.fail_window_s, cooldown_s=self.config.cooldown_s)

    def _succeeded(self, dep: Deployment, latency: float) -> None:
        state = self.state
        if state.shared:
            state_mod.run_soon(state.succeeded(dep.label, latency))  # off the caller's path
        else:
            state.succeeded_now(dep.label, latency)

    # -- choice ------------------------------------------------------------------------------------
    async def _by_latency(self, alias: str) -> list[Deployment]:
        """lowest-latency, the one order that asks the (maybe shared) state."""
        deps = self._groups[alias]
        latency = await self.state.latencies([d.label for d in deps])
        ranked = dict(zip((d.label for d in deps), latency, strict=True))
        return sorted(deps, key=lambda d: ranked[d.label] or 0.0)

    def _ordered(self, alias: str, messages: Any, kwargs: Mapping[str, Any]) -> list[Deployment]:
        """Every strategy but lowest-latency: no state to ask, so no coroutine on each call."""
        deps = list(self._groups[alias])
        strategy = self.config.strategy
        if strategy == "weighted":
            pool, out = deps[:], []
            while pool:
                pick = self._rng.choices(pool, weights=[d.weight for d in pool])[0]
                pool.remove(pick)
                out.append(pick)
            return out
        if strategy == "lowest-cost":
            return sorted(deps, key=lambda d: expected_cost(d.model, messages, kwargs))
        return deps

    def _plan(self, alias: str) -> list[str]:
        return [alias, *self.config.fallbacks.get(alias, [])]

    # -- calls -------------------------------------------------------------------------------------
    async def acompletion(self, model: str, messages: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        if model not in self._groups:
            self._known_model(model)
            return await acompletion(model, messages, stream=stream, **kwargs)
        kwargs = check(model, messages, {**kwargs, "stream": stream})
        deadline = kwargs.pop("deadline", None) or self.config.deadline
        if self._state is None:
            self.state  # noqa: B018 - resolve it now, so this Router's budgets see it too
        tracker = tracking.active()
        if tracker is None:
            if self._budgets:
                raise ConfigError("this Router has budgets, which need call tracking; tracking is off",
                                  hint="router.configure(tracking='strict') (the default), or drop max_budget")
            return await self._deadline(model, messages, stream, kwargs, deadline, None)
        # One record for the routed call, whatever the deployments and fallbacks tried underneath.
        trace = tracker.begin(model, kwargs.get("metadata"), stream, alias=model, listeners=tuple(self._listeners))

        async def work() -> Any:
            if tracker.gated or self._budgets:
                await trace.admit(lambda: self._estimate(model, messages, kwargs), self._budgets)
            return await self._deadline(model, messages, stream, kwargs, deadline, trace)

        return await tracking.traced(trace, stream, work)

    async def _deadline(self, alias: str, messages: Any, stream: bool, kwargs: dict[str, Any],
                        deadline: float | None, trace: Any) -> Any:
        work = self._route(alias, messages, stream, kwargs, trace)
        if deadline is None:  # no bound on the whole call: one coroutine less per call
            return await work
        return await retry.within(deadline, work, what=" before any deployment answered", model=alias)

    def _known_model(self, model: str) -> None:
        """A name that is not an alias must be a model Farebox knows; the error lists this Router's aliases."""
        try:
            lookup(model)
        except ConfigError as exc:
            raise ConfigError(f"{model!r} is not an alias of this Router (aliases: {', '.join(self._groups)}) "
                              f"nor a known model: {exc.message}") from None

    def _estimate(self, alias: str, messages: Any, kwargs: Mapping[str, Any]) -> Decimal:
        """For budgets: the dearest priced deployment of the alias (the one that answers is not known yet)."""
        costs = [expected_cost(d.model, messages, {**d.params, **kwargs}) for d in self._groups[alias]]
        return max((c for c in costs if c.is_finite()), default=Decimal(0))

    async def _route(self, alias: str, messages: Any, stream: bool, kwargs: dict[str, Any], trace: Any = None) -> Any:
        attempts: list[Attempt] = []
        if trace is not None:
            trace.attempts = attempts
        plan, seen, skipped, limited = self._plan(alias), set(), [], []
        last: FareboxError | None = None
        state = self.state
        tokens = -1
        while plan:
            group = plan.pop(0)
            if group in seen:
                continue
            seen.add(group)
            remaining = (await self._by_latency(group) if self.config.strategy == "lowest-latency"
                         else self._ordered(group, messages, kwargs))
            limits = [self._limits[d.label] for d in remaining]
            if tokens < 0 and any(lim is not None and lim.tpm for lim in limits):

                tokens = prompt_bytes(messages) // 4 + int(kwargs.get("max_tokens") or 0)
            while remaining:
                labels = [d.label for d in remaining]
                # Local state answers at once: no coroutine per call. Shared state (Redis) is awaited.
                pick = (await state.pick(labels, limits, max(tokens, 0)) if state.shared
                        else state.pick_now(labels, limits, max(tokens, 0)))
                skipped += pick.cooled
                if pick.index is None:
                    if pick.limited and self.config.rate_limit == "wait" and not pick.cooled:
                        await asyncio.sleep(max(pick.wait, 0.01))  # the deadline (retry.within) bounds this
                        continue
                    limited += pick.limited
                    break
                dep = remaining[pick.index]
                remaining, limits = remaining[pick.index + 1:], limits[pick.index + 1:]
                try:
                    return await self._try(dep, group, messages, stream, kwargs, attempts, trace)
                except ContextWindowExceededError as exc:
                    last = exc
                    plan[:0] = self.config.context_window_fallbacks.get(group, [])
                    break
                except ContentPolicyError as exc:
                    last = exc
                    plan[:0] = self.config.content_policy_fallbacks.get(group, [])
                    break
                except FareboxError as exc:
                    last = exc
                    if not exc.fallback_ok:
                        raise
                    await self._failed(dep, exc)
        note = f"; cooling down: {', '.join(skipped)}" if skipped else ""
        if limited:
            note += f"; at their rpm/tpm limit: {', '.join(limited)}"
        reason = f"{type(last).__name__}: {last}" if last else "no deployment available"
        raise AllDeploymentsFailedError(f"every deployment for {alias!r} failed (last: {reason}){note}",
                                        attempts=attempts, model=alias)

    async def _try(self, dep: Deployment, group: str, messages: Any, stream: bool, kwargs: dict[str, Any],
                   attempts: list[Attempt], trace: Any = None) -> Any:
        options = {**self._params[dep.label], **kwargs}
        options.setdefault("num_retries", self.config.num_retries)
        options.setdefault("timeout", self.config.timeout)
        if dep.reasoning_effort is not None:
            options.setdefault("reasoning_effort", dep.reasoning_effort)
        for name in ("base_url", "region", "wire"):
            if getattr(dep, name) is not None:
                options[name] = getattr(dep, name)
        if dep.api_key is not None:
            options["api_key"] = dep.api_key.get_secret_value()
        started = time.perf_counter()
        if trace is not None:
            trace.tries += 1
            trace.deployment = dep.label
        try:
            call = prepare(dep.model, messages, alias=group, attempts=attempts, checked=True, **options)
        except ConfigError as exc:
            attempts.append(Attempt(vendor=exc.vendor or "", model=dep.model, base_url=dep.base_url or "",
                                    error=type(exc).__name__, message=str(exc), alias=group, deployment=dep.label))
            raise
        if trace is not None:
            trace.call, call.trace = call, trace
        window = _window_to_check(call)
        if window is not None:
            await _preflight(call, options, window)
        if stream:
            result: Any = await open_stream(call)
        else:
            result = await call.run()
        for attempt in attempts:
            attempt.deployment = attempt.deployment or dep.label
        self._succeeded(dep, time.perf_counter() - started)
        return result

    # -- tracking ----------------------------------------------------------------------------------
    def add_listener(self, fn: Callable[[Any], Any]) -> None:
        """Call `fn(record)` with the CallRecord of every call through this Router (sync or async fn)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Any], Any]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def spend(self, group_by: Iterable[str] = (), since: Any = None, until: Any = None, **options: Any) -> Any:
        """router.spend(...) over the ledger (every call recorded there, not only this Router's)."""
        return spend(group_by, since, until, **options)

    def flush(self) -> None:
        """Commit queued call records (batching mode)."""
        tracking.flush()

    async def aflush(self) -> None:
        await tracking.aflush()

    def completion(self, model: str, messages: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        """The sync form of `acompletion`, safe from any thread."""
        if stream:
            return SyncStream(loop.run(self.acompletion(model, messages, stream=True, **kwargs)))
        return tracking.run_sync(lambda: self.acompletion(model, messages, **kwargs))


def _window_to_check(call: Any) -> int | None:
    """The model's context window when the prompt must be counted against it, else None (a plain function:
    no coroutine per call). A BPE token is at least one byte: a prompt of no more bytes fits without counting."""
    target = call.target
    if target.catalogue_id is None:
        return None
    try:
        window = pricing.price(target.catalogue_id, vendor=target.vendor).context_window
    except LookupError:
        return None
    return window if window and prompt_bytes(call.req.messages) > window else None


async def _preflight(call: Any, options: Mapping[str, Any], window: int) -> None:
    """ContextWindowExceededError before sending when the prompt cannot fit the model's `window`."""
    target = call.target
    model = f"{target.vendor}/{target.catalogue_id}"
    tokens = await asyncio.to_thread(pricing.count_tokens, model, messages=call.req.messages)
    wanted = tokens + int(options.get("max_tokens") or 0)
    if wanted > window:
        started = time.perf_counter()
        exc = ContextWindowExceededError(
            f"the prompt is about {tokens} tokens (+{wanted - tokens} for max_tokens); {model} takes {window}",
            vendor=target.vendor, model=target.model)
        call.record(started, None, exc)
        raise exc
