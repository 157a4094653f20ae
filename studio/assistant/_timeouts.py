"""Timeouts for the model server: one value object, named phases, module defaults.

LLM servers are slow in a particular way: connecting is instant or impossible, but a
large model on a small GPU may think for minutes before the first token. So the
``read`` limit (the longest silence between two bytes, which for a stream is the gap
between two chunks) is generous, ``connect`` is short, and ``total`` caps a whole
non-streaming request.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["DEFAULT_TIMEOUTS", "Timeouts"]

DEFAULT_CONNECT_SECONDS = 5.0
DEFAULT_READ_SECONDS = 180.0
DEFAULT_WRITE_SECONDS = 30.0
DEFAULT_POOL_SECONDS = 10.0
DEFAULT_TOTAL_SECONDS = 600.0


@dataclass(frozen=True)
class Timeouts:
    """Every limit a model-server request runs under, in seconds.

    Attributes:
        connect: Establishing the TCP/TLS connection.
        read: The longest wait for the next bytes (between stream chunks, too).
        write: Sending the request body.
        pool: Waiting for a free connection in the client's pool.
        total: A whole request from start to the last byte; ``None`` disables it.
            Streaming requests are bounded by ``read`` per chunk instead.
    """

    connect: float = DEFAULT_CONNECT_SECONDS
    read: float = DEFAULT_READ_SECONDS
    write: float = DEFAULT_WRITE_SECONDS
    pool: float = DEFAULT_POOL_SECONDS
    total: float | None = DEFAULT_TOTAL_SECONDS

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "pool", "total"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Timeouts.{name} must be positive seconds, got {value!r}")

    @classmethod
    def uniform(cls, seconds: float) -> Timeouts:
        """Every phase, ``total`` included, limited to ``seconds`` (handy in tests)."""
        return cls(connect=seconds, read=seconds, write=seconds, pool=seconds, total=seconds)

    def to_httpx(self) -> httpx.Timeout:
        """The per-phase limits as an :class:`httpx.Timeout` (``total`` is enforced apart)."""
        return httpx.Timeout(
            connect=self.connect, read=self.read, write=self.write, pool=self.pool
        )


DEFAULT_TIMEOUTS = Timeouts()
