"""Rate limits on guessing and abuse: failed logins, sign-ups, reset mails.

A *rule* allows ``limit`` events per sliding window of ``window_seconds``
for one key (a client address or an account). Events are counted with
``hit``; ``check`` raises ``RateLimited`` once the window is full. The rules
and their settings (``ratelimit.<rule>_limit``, 0 = unlimited, and
``ratelimit.<rule>_window_seconds``):

* ``login_address`` / ``login_account``: failed password checks (Basic auth
  on every API, including Storage 1.1, through ``synccore.auth.LoginThrottle``).
* ``create_address`` / ``create_account``: account-creation attempts.
* ``reset_address`` / ``reset_account``: password-reset mails asked for.
* ``code_account``: wrong reset codes presented for an account.
* ``lookup_address``: account-existence checks (user enumeration).

``ratelimit.backend`` names the module whose ``load_from_config`` builds
the limiter; this module's keeps the windows in process memory, which is
exact for one process and per-process (so ``processes`` times looser) for
several.
"""
from __future__ import annotations

import abc
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyramid.request import Request

from synccore.auth import LoginThrottle
from synccore.errors import too_many_requests

RULES = ("login_address", "login_account", "create_address", "create_account",
         "reset_address", "reset_account", "code_account", "lookup_address")


@dataclass(frozen=True)
class Rule:
    limit: int  # events per window; 0 means no limit
    window_seconds: float


class RateLimited(Exception):
    """Too many events for a key; try again after ``retry_after`` seconds."""

    def __init__(self, rule: str, retry_after: int):
        super().__init__(f"rate limit {rule}: retry after {retry_after} s")
        self.rule = rule
        self.retry_after = retry_after


class RateLimiter(abc.ABC):
    def __init__(self, rules: dict[str, Rule]):
        self.rules = rules

    @abc.abstractmethod
    def retry_after(self, rule: str, key: str) -> float | None:
        """Seconds until ``key`` may have another event under ``rule``; None if now."""

    @abc.abstractmethod
    def hit(self, rule: str, key: str) -> None:
        """Count one event for ``key`` under ``rule``."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Forget every event."""

    def check(self, rule: str, key: str) -> None:
        wait = self.retry_after(rule, key)
        if wait is not None:
            raise RateLimited(rule, max(1, math.ceil(wait)))


class MemoryRateLimiter(RateLimiter):
    """Sliding windows in this process, for at most ``max_keys`` keys (oldest dropped)."""

    def __init__(self, rules: dict[str, Rule], max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(rules)
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _window(self, rule: str, key: str, now: float) -> deque[float] | None:
        """The key's events still inside the window (caller holds the lock)."""
        events = self._events.get((rule, key))
        if events is None:
            return None
        horizon = now - self.rules[rule].window_seconds
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def retry_after(self, rule: str, key: str) -> float | None:
        settings = self.rules.get(rule)
        if settings is None or settings.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            events = self._window(rule, key, now)
            if events is None or len(events) < settings.limit:
                return None
            return events[-settings.limit] + settings.window_seconds - now

    def hit(self, rule: str, key: str) -> None:
        settings = self.rules.get(rule)
        if settings is None or settings.limit <= 0:
            return
        now = self._clock()
        with self._lock:
            events = self._window(rule, key, now)
            if events is None:
                events = self._events[(rule, key)] = deque(maxlen=settings.limit)
            self._events.move_to_end((rule, key))
            events.append(now)
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


def client_address(request: Request | None, forwarded_header: str = "") -> str:
    """The client's address: the last hop of ``forwarded_header`` when set and present
    (the one a trusted proxy appended), else the socket peer."""
    if request is None:
        return "unknown"
    if forwarded_header:
        value = request.headers.get(forwarded_header, "")
        hops = [hop.strip() for hop in value.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.remote_addr or "unknown"


class LoginRateLimit(LoginThrottle):
    """Failed password checks per account and per client address."""

    def __init__(self, limiter: RateLimiter, forwarded_header: str = "", status: int = 429):
        self.limiter = limiter
        self.forwarded_header = forwarded_header
        self.status = status

    def _keys(self, username: str, request: Request | None) -> tuple[tuple[str, str], ...]:
        return (("login_account", username),
                ("login_address", client_address(request, self.forwarded_header)))

    def check(self, username: str, request: Request | None) -> None:
        for rule, key in self._keys(username, request):
            try:
                self.limiter.check(rule, key)
            except RateLimited as exc:
                raise too_many_requests(exc.retry_after, self.status) from None

    def failed(self, username: str, request: Request | None) -> None:
        for rule, key in self._keys(username, request):
            self.limiter.hit(rule, key)


def rules_from_settings(settings: dict[str, Any]) -> dict[str, Rule]:
    return {rule: Rule(settings[f"ratelimit.{rule}_limit"],
                       settings[f"ratelimit.{rule}_window_seconds"]) for rule in RULES}


def load_from_config(settings: dict[str, Any]) -> MemoryRateLimiter:
    return MemoryRateLimiter(rules_from_settings(settings),
                             max_keys=settings["ratelimit.max_tracked_keys"])
