"""Timeouts and retry policy for the ComfyUI client: value objects with named defaults.

Every network call the client makes takes its limit from one :class:`Timeouts`:

- ``connect``: opening a TCP connection or the WebSocket handshake;
- ``read``: waiting for one HTTP response (uploads and downloads included);
- ``queue_wait``: a submitted job waiting in the server's queue before it starts;
- ``ws_idle``: silence on the WebSocket while a job runs; after it the client asks
  ``/history`` and ``/queue`` whether the job is still alive (it does not give up);
- ``total``: one job from POST to its terminal event;
- ``keepalive``: WebSocket ping interval, and how long a ping may go unanswered before
  the connection counts as dropped (a paused server is noticed after about twice this).

``None`` disables a limit. Defaults are the module constants below.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUTS",
    "RetryPolicy",
    "Timeouts",
]

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_QUEUE_WAIT_TIMEOUT = 6 * 3600.0  # a busy shared server can hold a job for hours
DEFAULT_WS_IDLE_TIMEOUT = 30.0
DEFAULT_TOTAL_TIMEOUT = 4 * 3600.0
DEFAULT_KEEPALIVE = 20.0

DEFAULT_RETRY_ATTEMPTS = 4
DEFAULT_RETRY_BACKOFF = 0.25
DEFAULT_RETRY_MAX_BACKOFF = 8.0


@dataclass(frozen=True)
class Timeouts:
    """Per-phase limits in seconds (``None``: no limit).

    Example:
        ``Timeouts(read=10.0)`` keeps every default but the read timeout.
    """

    connect: float | None = DEFAULT_CONNECT_TIMEOUT
    read: float | None = DEFAULT_READ_TIMEOUT
    queue_wait: float | None = DEFAULT_QUEUE_WAIT_TIMEOUT
    ws_idle: float | None = DEFAULT_WS_IDLE_TIMEOUT
    total: float | None = DEFAULT_TOTAL_TIMEOUT
    keepalive: float | None = DEFAULT_KEEPALIVE

    def __post_init__(self) -> None:
        for name in ("connect", "read", "queue_wait", "ws_idle", "total", "keepalive"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Timeouts.{name} must be positive or None, got {value!r}")


@dataclass(frozen=True)
class RetryPolicy:
    """How transient connection errors are retried: exponential backoff with jitter.

    ``attempts`` counts the first try; ``attempts=1`` disables retries.
    """

    attempts: int = DEFAULT_RETRY_ATTEMPTS
    backoff: float = DEFAULT_RETRY_BACKOFF
    max_backoff: float = DEFAULT_RETRY_MAX_BACKOFF

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return float(base * (0.5 + random.random() / 2))


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY_POLICY = RetryPolicy()
