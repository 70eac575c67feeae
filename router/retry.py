"""Retry policies as small tenacity pieces: which errors, how long to wait, when to stop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from vendors.errors import APITimeoutError, FareboxError

__all__ = ["DEFAULT_RETRIES", "WAIT_CAP", "policy", "run_with_retries", "set_sleep", "wait_retry_after", "within"]

DEFAULT_RETRIES = 2
WAIT_CAP = 60.0

_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
T = TypeVar("T")


def set_sleep(fn: Callable[[float], Awaitable[None]] | None) -> None:
    """Replace the sleep between retries (tests pass a recorder); None restores asyncio.sleep."""
    global _sleep
    _sleep = fn or asyncio.sleep


async def _do_sleep(seconds: float) -> None:
    await _sleep(seconds)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, FareboxError) and exc.retryable


def _hint(state: RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome else None
    return getattr(exc, "retry_after", None)


class wait_retry_after(wait_base):
    """The vendor's Retry-After when it gave one (never less), else the fallback wait."""

    def __init__(self, fallback: wait_base, cap: float = WAIT_CAP) -> None:
        self.fallback, self.cap = fallback, cap

    def __call__(self, state: RetryCallState) -> float:
        hint = _hint(state)
        return min(hint, self.cap) if hint is not None else self.fallback(state)


class stop_if_wait_exceeds(stop_base):
    """Stop when the vendor asks for a longer wait than the cap: the caller moves on instead."""

    def __init__(self, cap: float = WAIT_CAP) -> None:
        self.cap = cap

    def __call__(self, state: RetryCallState) -> bool:
        hint = _hint(state)
        return hint is not None and hint > self.cap


def policy(num_retries: int | None, *, cap: float = WAIT_CAP) -> AsyncRetrying:
    """Full-jitter exponential backoff (0.5 s base, capped), honouring Retry-After, for retryable errors."""
    retries = DEFAULT_RETRIES if num_retries is None else max(0, int(num_retries))
    return AsyncRetrying(
        stop=stop_after_attempt(retries + 1) | stop_if_wait_exceeds(cap),
        wait=wait_retry_after(wait_random_exponential(multiplier=0.5, max=cap), cap),
        retry=retry_if_exception(_retryable),
        sleep=_do_sleep,
        reraise=True,
    )


async def run_with_retries(attempt: Callable[[], Awaitable[T]], num_retries: int | None,
                           first: FareboxError | None = None) -> T:
    """`attempt()` once; only after a retryable failure is the tenacity policy built (a hot-path saving).

    The first failure is replayed as the policy's first attempt, so counts and waits are unchanged. `first`:
    that first attempt was already made by the caller (one coroutine less on the usual, successful path) and
    failed with this error; re-raised here when it is not to be retried.
    """
    if first is None:
        try:
            return await attempt()
        except FareboxError as exc:
            first = exc
    if not first.retryable or num_retries == 0:
        raise first

    async def again() -> T:
        nonlocal first
        if first is not None:
            failed, first = first, None
            raise failed
        return await attempt()

    return await policy(num_retries)(again)


async def within(deadline: float | None, work: Awaitable[T], *, what: str = "", vendor: str | None = None,
                 model: str | None = None) -> T:
    """`work` bounded by `deadline` seconds (retries and fallbacks included); APITimeoutError past it."""
    if deadline is None:
        return await work

    try:
        async with asyncio.timeout(deadline):
            return await work
    except TimeoutError as exc:
        raise APITimeoutError(f"deadline of {deadline:g}s passed{what}", vendor=vendor, model=model) from exc
