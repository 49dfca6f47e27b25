"""Rate and volume limits of the dashboard, and the token buckets that enforce the rates.

The numbers are sized for a workshop (tens of teams, each submitting a scenario every few
minutes) with a wide margin, and small enough that one misbehaving client cannot fill the disk
or drown the facilitator's list. They are documented in ``docs/dashboard.md``.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_BAND_MEMBERS = 1000   # one ensemble's memory and time stay small at this size


@dataclass(frozen=True)
class Limits:
    """Limits of one dashboard app.

    ``client_rate`` and ``team_rate`` are (submissions, per seconds) for one client address and
    one team; ``team_total`` and ``total`` cap the stored submissions of a team and of all teams.
    ``band_members`` is the size of the uncertainty ensemble (at most ``MAX_BAND_MEMBERS``);
    ``band_rate`` the ensembles one client address may start (cached ones are free), and
    ``band_wait`` how long a request waits for the one ensemble that runs at a time.
    """

    body_bytes: int = 64 * 1024
    client_rate: tuple = (30, 60.0)
    team_rate: tuple = (10, 60.0)
    team_total: int = 200
    total: int = 20_000
    page_max: int = 200
    band_members: int = 200
    band_rate: tuple = (20, 60.0)
    band_wait: float = 30.0

    def __post_init__(self):
        for name in ("body_bytes", "team_total", "total", "page_max", "band_members"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be a positive integer")
        if self.band_members > MAX_BAND_MEMBERS:
            raise ValueError(f"Limits.band_members must be at most {MAX_BAND_MEMBERS}")
        if not (self.band_wait > 0 and math.isfinite(self.band_wait)):
            raise ValueError("Limits.band_wait must be a positive number of seconds")
        for name in ("client_rate", "team_rate", "band_rate"):
            n, per = getattr(self, name)
            if not (n >= 1 and per > 0 and math.isfinite(per)):
                raise ValueError(f"Limits.{name} must be (count >= 1, seconds > 0)")


class RateLimiter:
    """Token buckets by key: ``count`` actions at once, refilled at ``count / per`` a second.

    At most ``max_keys`` buckets are kept (least recently used dropped), so the limiter's memory
    is bounded however many addresses or team names it sees. A dropped bucket comes back full;
    that only matters for an attacker with more than ``max_keys`` addresses, which a workshop LAN
    does not give.
    """

    def __init__(self, count: int, per: float, *, max_keys: int = 10_000, clock=time.monotonic):
        self.capacity = float(count)
        self.rate = count / per
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0.0 when allowed, else the seconds to wait for the next."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    def peek(self, key: str) -> float:
        """The seconds ``key`` would wait for a token now (0.0: one is there), spending nothing."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)
