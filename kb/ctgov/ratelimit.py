"""A polite token-bucket rate limiter (ClinicalTrials.gov asks for at most about 50 requests a minute)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Allow ``rate_per_minute`` requests a minute, with bursts of at most ``capacity``.

    The default capacity of one spaces requests evenly (1.2 s apart at 50 a minute), so no window
    of a minute ever holds more than the rate. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate_per_minute: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute <= 0 or capacity < 1:
            raise ValueError("rate_per_minute must be positive and capacity at least 1")
        self.rate = rate_per_minute / 60.0  # tokens a second
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            self._refill()
            # The tolerance keeps float rounding from looping on sleeps too small to move the clock.
            while self._tokens < 1 - 1e-9:
                delay = (1 - self._tokens) / self.rate
                self._sleep(delay)
                waited += delay
                self._refill()
            self._tokens = max(0.0, self._tokens - 1)
        return waited
