"""Fault injection: make chosen requests fail the ways real networks and servers do.

A `FaultRule` matches requests by method and path pattern (`fnmatch` style, e.g.
``"/v1/files/*/content"``), optionally only with some probability (drawn from the seeded
`Faults` random generator) and only ``times`` times. The first matching rule whose probability
draw succeeds decides the fault:

=============  =============================================================================
kind           effect
=============  =============================================================================
``status``     answer ``status`` (429, 500, 502, 503, ...) with an API error body; 429 carries
               ``retry-after`` / ``retry-after-ms`` when set
``delay``      wait ``delay`` seconds, then answer normally (added latency / slow headers)
``slow_body``  send the real answer's body in ``chunk_size`` chunks, ``delay`` seconds apart
``truncate``   announce the full Content-Length, send ``keep`` bytes (default: half), close
``reset``      abort the connection without sending anything
=============  =============================================================================

With ``after=True`` the real handler runs first, so its side effects happen (the batch IS
created), and only then is the answer replaced: ``status`` answers the error instead,
``reset`` drops the connection, ``delay`` waits before sending. This is how duplicate-safe
retries of ``POST /v1/batches`` are tested. ``slow_body`` and ``truncate`` always run the handler.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from typing import Literal

import attrs

__all__ = ["FaultKind", "FaultRule", "Faults"]

FaultKind = Literal["status", "delay", "slow_body", "truncate", "reset"]
_KINDS = frozenset({"status", "delay", "slow_body", "truncate", "reset"})


@attrs.define(eq=False)
class FaultRule:
    """One fault to inject.

    Args:
        kind: What to do (see the module documentation).
        method: HTTP method to match, or ``"*"``.
        path: `fnmatch` pattern for the request path (including ``/v1``), or ``"*"``.
        status: The status of a ``status`` fault.
        retry_after: Seconds for the ``retry-after`` header (``status`` faults).
        retry_after_ms: Milliseconds for the ``retry-after-ms`` header (``status`` faults).
        delay: Seconds to wait (``delay``), or between chunks (``slow_body``).
        chunk_size: Bytes per chunk for ``slow_body``.
        keep: Bytes sent before closing for ``truncate`` (default: half the body).
        after: Run the real handler first, then inject the fault.
        times: Trigger at most this many times (None: forever).
        probability: Chance (0..1) that a matching request triggers the rule.
        message: The error message of a ``status`` fault.
    """

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    status: int = 500
    retry_after: float | None = None
    retry_after_ms: int | None = None
    delay: float = 0.0
    chunk_size: int = 64
    keep: int | None = None
    after: bool = False
    times: int | None = None
    probability: float = 1.0
    message: str | None = None
    #: How many times the rule has triggered.
    hits: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")

    @property
    def exhausted(self) -> bool:
        """True once the rule has triggered ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        """Return True if the rule applies to *method* and *path* (ignoring probability)."""
        if self.exhausted:
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return self.path == "*" or fnmatch.fnmatchcase(path, self.path)


class Faults:
    """The emulator's active fault rules.

    Args:
        seed: Seed for the probability draws, so random faults are reproducible.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        """Activate *rule* (after existing ones) and return it."""
        with self._lock:
            self.rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Deactivate *rule*."""
        with self._lock:
            self.rules.remove(rule)

    def clear(self) -> None:
        """Deactivate every rule."""
        with self._lock:
            self.rules.clear()

    def seed(self, seed: int | None) -> None:
        """Reseed the probability draws."""
        self._random.seed(seed)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """Return the rule to apply to this request (counting it as a hit), or None."""
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.hits += 1
                return rule
        return None
