"""The service's Prometheus metrics, written in the text exposition format.

A dependency-free registry: counters and one histogram with fixed label sets, created at start so
every series exists (at 0) before the first transaction and `rate()` sees the first increase.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: Seconds; a model call on the same cluster takes milliseconds, a timeout is 10 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    escaped = (v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'{n}="{v}"' for n, v in zip(names, escaped, strict=True)) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class Counter:
    """A monotonically increasing value per label set."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = (),
                 initial: Iterable[tuple[str, ...]] = ((),)) -> None:
        self.name, self.help_text, self.label_names = name, help_text, labels
        self.values: dict[tuple[str, ...], float] = {values: 0.0 for values in initial}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, *values: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        with self._lock:
            self.values[values] = self.values.get(values, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} counter"]
        with self._lock:
            for values, value in sorted(self.values.items()):
                lines.append(f"{self.name}{_labels(self.label_names, values)} {_number(value)}")
        return lines


class Histogram:
    """Observations counted into cumulative buckets, with their sum and count."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name, self.help_text, self.buckets = name, help_text, buckets
        self.counts = [0] * len(buckets)
        self.total, self.count = 0.0, 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    self.counts[index] += 1
            self.total += value
            self.count += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for bound, count in zip(self.buckets, self.counts, strict=True):
                lines.append(f'{self.name}_bucket{{le="{_number(bound)}"}} {count}')
            lines += [f'{self.name}_bucket{{le="+Inf"}} {self.count}', f"{self.name}_sum {_number(self.total)}",
                      f"{self.name}_count {self.count}"]
        return lines


class Metrics:
    """Everything /metrics shows: the business metrics first, then the service's own health."""

    def __init__(self, currency: str) -> None:
        channels = (("online",), ("in_store",))
        self.currency = currency
        self.scored = Counter("fraud_transactions_scored_total", "Card transactions scored by the fraud model.",
                              ("channel",), channels)
        self.flagged = Counter("fraud_transactions_flagged_total",
                               "Scored transactions whose fraud probability reached the flag threshold.",
                               ("channel",), channels)
        self.amount_scored = Counter("fraud_amount_scored_total", "Sum of the amounts of scored transactions.",
                                     ("currency",), ((currency,),))
        self.amount_at_risk = Counter("fraud_amount_at_risk_total",
                                      "Sum of the amounts of flagged transactions: the money the flags protect.",
                                      ("currency",), ((currency,),))
        self.failures = Counter("fraud_scoring_failures_total",
                                "Transactions that could not be scored, by reason (bad_request, model_error, "
                                "model_unreachable).", ("reason",),
                                (("bad_request",), ("model_error",), ("model_unreachable",)))
        self.latency = Histogram("fraud_model_request_duration_seconds",
                                 "Time of one call to the model's inference endpoint.")

    def render(self) -> str:
        lines: list[str] = []
        for metric in (self.scored, self.flagged, self.amount_scored, self.amount_at_risk, self.failures,
                       self.latency):
            lines += metric.render()
        return "\n".join(lines) + "\n"
