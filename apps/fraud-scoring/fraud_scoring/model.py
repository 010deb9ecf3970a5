"""Calls to the fraud-detection model over KServe's v2 REST protocol (the Open Inference Protocol).

`POST <endpoint>/v2/models/<model>/infer` with one input tensor `transaction_features` (FP32,
shape [1, 5], the features in the order of models/fraud-detection/pipeline/data-schema.yaml) and
one output `fraud_probability` (kserve/kserve docs/predict-api/v2/required_api.md; the signature
in models/fraud-detection/model.yaml). One transaction per call: TrustyAI, which logs every
inference for drift, reads a [1, k] tensor as one row (explainability-connectors
kserve/v2/TensorConverter.java).

With `security.opendatahub.io/enable-auth: "true"` the predictor Service `<model>-predictor`
answers on port 8443 through kube-rbac-proxy, which lets a request through when its bearer token's
ServiceAccount may `get` the InferenceService (opendatahub-io/kserve
pkg/controller/v1beta1/inferenceservice/reconcilers/deployment/deployment_reconciler.go); its
certificate is signed by OpenShift's service CA. Without auth the Service answers plain HTTP on 80.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Any

FEATURES = ("distance_from_home", "distance_from_last_transaction", "ratio_to_median_purchase_price", "used_chip",
            "online_order")
INPUT, OUTPUT = "transaction_features", "fraud_probability"


class ModelError(Exception):
    """The model answered with an error or an answer that is not its signature's."""

    reason = "model_error"


class ModelUnreachable(ModelError):
    """The model's endpoint could not be reached (connection, TLS, timeout)."""

    reason = "model_unreachable"


def endpoint(environ: dict[str, str], namespace: str) -> str:
    """MODEL_URL, or the predictor Service of MODEL_NAME: https on 8443 with auth, http on 80 without."""
    if environ.get("MODEL_URL"):
        return environ["MODEL_URL"].rstrip("/")
    name = environ.get("MODEL_NAME") or "fraud-detection"
    if (environ.get("MODEL_AUTH") or "true").lower() == "true":
        return f"https://{name}-predictor.{namespace}.svc:8443"
    return f"http://{name}-predictor.{namespace}.svc"


class ModelClient:
    """One model behind one endpoint, called with the pod's (rotated) ServiceAccount token."""

    def __init__(self, url: str, model: str, token_file: str | None, ca_file: str | None,
                 timeout: float = 10.0) -> None:
        self.url, self.model, self.token_file, self.timeout = url.rstrip("/"), model, token_file, timeout
        self.context: ssl.SSLContext | None = None
        if self.url.startswith("https://"):
            self.context = ssl.create_default_context(cafile=ca_file if ca_file and os.path.isfile(ca_file) else None)

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.url}{path}", data=data, method="POST" if data else "GET")
        request.add_header("Content-Type", "application/json")
        if self.token_file and os.path.isfile(self.token_file):
            with open(self.token_file, encoding="utf-8") as handle:
                request.add_header("Authorization", "Bearer " + handle.read().strip())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            detail = " ".join(error.read().decode("utf-8", "replace").split())[:300]
            raise ModelError(f"{path}: HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ModelUnreachable(f"{self.url}{path}: {error}") from None
        return json.loads(text) if text.strip() else None

    def ready(self) -> bool:
        try:
            self._request(f"/v2/models/{self.model}/ready")
        except ModelError:
            return False
        return True

    def fraud_probability(self, features: list[float]) -> float:
        answer = self._request(f"/v2/models/{self.model}/infer", {
            "inputs": [{"name": INPUT, "shape": [1, len(features)], "datatype": "FP32", "data": [features]}]})
        outputs = {o.get("name"): o for o in (answer or {}).get("outputs") or [] if isinstance(o, dict)}
        output = outputs.get(OUTPUT)
        data = output.get("data") if output else None
        while isinstance(data, list) and len(data) == 1 and isinstance(data[0], list):
            data = data[0]  # a server may nest [1, 1] data
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], int | float):
            raise ModelError(f"the answer has no single {OUTPUT} value: {json.dumps(answer)[:300]}")
        return float(data[0])
