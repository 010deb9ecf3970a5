"""The HTTP API: score a transaction, show the metrics, say whether the service can score.

    POST /v1/transactions/score   {"transaction_id": "...", "amount": 120.5, <the five features>}
                                  -> {"transaction_id", "fraud_probability", "flagged", "threshold"}
    GET  /metrics                 Prometheus text format (business metrics and model call latency)
    GET  /healthz                 the process answers
    GET  /readyz                  the model answers its readiness endpoint

A transaction the model cannot score is answered 400 (bad request), 502 (the model failed) or
503 (the model is unreachable), and counted by reason: the caller decides what an unscored
transaction means (here: the card network's default rules), the alert FraudScoringFailing pages.
"""

from __future__ import annotations

import json
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from .metrics import Metrics
from .model import FEATURES, ModelClient, ModelError


class BadTransaction(ValueError):
    """The request is not a transaction the model can score."""


def features_of(transaction: Any) -> tuple[list[float], float, str]:
    """(model input, amount, channel) of a transaction, or BadTransaction."""
    if not isinstance(transaction, dict):
        raise BadTransaction("the body must be a JSON object")
    values: list[float] = []
    for name in (*FEATURES, "amount"):
        value = transaction.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadTransaction(f"{name} must be a number, not {value!r}")
        if value < 0:
            raise BadTransaction(f"{name} must not be negative")
        values.append(float(value))
    for flag in ("used_chip", "online_order"):
        if transaction[flag] not in (0, 1):
            raise BadTransaction(f"{flag} must be 0 or 1")
    amount = values.pop()
    return values, amount, "online" if transaction["online_order"] == 1 else "in_store"


class Scorer:
    """Scores one transaction, decides the flag and counts it."""

    def __init__(self, client: ModelClient, metrics: Metrics, threshold: float) -> None:
        self.client, self.metrics, self.threshold = client, metrics, threshold

    def score(self, transaction: Any) -> dict[str, Any]:
        try:
            features, amount, channel = features_of(transaction)
        except BadTransaction:
            self.metrics.failures.inc(1, "bad_request")
            raise
        started = time.perf_counter()
        try:
            probability = self.client.fraud_probability(features)
        except ModelError as error:
            self.metrics.failures.inc(1, error.reason)
            raise
        finally:
            self.metrics.latency.observe(time.perf_counter() - started)
        flagged = probability >= self.threshold
        self.metrics.scored.inc(1, channel)
        self.metrics.amount_scored.inc(amount, self.metrics.currency)
        if flagged:
            self.metrics.flagged.inc(1, channel)
            self.metrics.amount_at_risk.inc(amount, self.metrics.currency)
        return {"transaction_id": transaction.get("transaction_id"), "fraud_probability": probability,
                "flagged": flagged, "threshold": self.threshold}


def handler(scorer: Scorer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fraud-scoring"

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, scorer.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/healthz":
                self._send(200, {"status": "ok"})
            elif self.path == "/readyz":
                ready = scorer.client.ready()
                self._send(200 if ready else 503, {"model": "ready" if ready else "not ready"})
            else:
                self._send(404, {"error": f"no {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/v1/transactions/score":
                self._send(404, {"error": f"no {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                transaction = json.loads(self.rfile.read(length) or b"null")
                self._send(200, scorer.score(transaction))
            except (json.JSONDecodeError, BadTransaction) as error:
                if isinstance(error, json.JSONDecodeError):
                    scorer.metrics.failures.inc(1, "bad_request")
                self._send(400, {"error": str(error)})
            except ModelError as error:
                self._send(502 if error.reason == "model_error" else 503, {"error": str(error)})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
