"""A stand-in TrustyAI service and Kubernetes API on loopback, for the hooks that talk to them.

The TrustyAI stand-in keeps models, tags and scheduled requests in memory and refuses what the
real service's validators refuse (unknown model, reference tag without rows, a protected attribute
or outcome that is not a column after name mapping, a name mapping of unknown columns; see
`explainability-service/.../validators/`). Every request is first checked against the API
description in `tests/contracts/trustyai-service.json` (generated from the shared TrustyAI
endpoint tables by `scripts/regenerate-test-contracts.py`): an operation it does not list, an
unknown field, a missing required field or a value of the wrong JSON type is recorded in
`problems`, which the tests require to stay empty.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopback import serving

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "trustyai-service.json").read_text(encoding="utf-8"))
_JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "number": (int, float), "integer": (int,),
                                            "boolean": (bool,), "array": (list,), "object": (dict,)}
_TYPED = ("privilegedAttribute", "unprivilegedAttribute", "favorableOutcome")


def _operation(method: str, path: str) -> dict[str, Any] | None:
    for operation in CONTRACT["operations"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", operation["path"]) + "$"
        if operation["method"] == method and re.match(pattern, path):
            return dict(operation)
    return None


def body_problems(name: str, body: Any, where: str) -> list[str]:
    """What in `body` the contract's description of request body `name` does not allow."""
    fields = CONTRACT["bodies"].get(name)
    if fields is None:
        return [f"{where}: the contract has no body {name}"]
    if not isinstance(body, dict):
        return [f"{where}: {name} is not a JSON object"]
    problems = [f"{where}: {name} has no field {key!r}" for key in sorted(set(body) - set(fields))]
    for key, spec in fields.items():
        if key not in body:
            if spec["required"]:
                problems.append(f"{where}: {name} needs {key!r}")
            continue
        value = body[key]
        allowed = tuple(t for kind in spec["types"] for t in _JSON_TYPES[kind])
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            problems.append(f"{where}.{key}: {value!r} is not {' or '.join(spec['types'])}")
        elif "enum" in spec and value not in spec["enum"]:
            problems.append(f"{where}.{key}: {value!r} is not one of {', '.join(spec['enum'])}")
    return problems


def contract_problems(method: str, path: str, body: Any) -> list[str]:
    operation = _operation(method, path)
    where = f"{method} {path}"
    if operation is None:
        return [f"{where}: not an operation of the TrustyAI API description"]
    if operation["body"] is None:
        return [f"{where}: the operation takes no body"] if body is not None else []
    return body_problems(operation["body"], body, where)


@dataclass
class Model:
    """What TrustyAI holds of one model: its columns (TrustyAI's own names and types) and tags."""

    inputs: dict[str, str]  # TrustyAI column name -> DataType
    outputs: dict[str, str]
    tags: dict[str, int] = field(default_factory=dict)
    input_mapping: dict[str, str] = field(default_factory=dict)
    output_mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def mapped(self, side: str) -> list[str]:
        columns, mapping = (self.inputs, self.input_mapping) if side == "inputs" else (self.outputs,
                                                                                       self.output_mapping)
        return [mapping.get(name, name) for name in columns]


class TrustyAI:
    """The TrustyAI calls of the hooks, with an in-memory store; every request is kept and checked."""

    def __init__(self) -> None:
        self.models: dict[str, Model] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.refuse: dict[tuple[str, str], int] = {}  # (method, path) -> status to answer
        self.uploads: list[dict[str, Any]] = []

    def writes(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.requests if r["method"] != "GET"]

    def schedule(self, metric: str, request: dict[str, Any]) -> str:
        """Schedule a request directly (as someone in the dashboard would)."""
        request_id = str(uuid.uuid4())
        stored = {**request, "metricName": metric}
        for key in _TYPED:  # listed typed, as ReconcilableFieldSerializer writes them
            if key in stored and not isinstance(stored[key], dict):
                value = stored[key]
                kind = ("BOOL" if isinstance(value, bool) else "INT32" if isinstance(value, int)
                        else "FLOAT" if isinstance(value, float) else "STRING")
                stored[key] = {"type": kind, "value": value}
        self.schedules[request_id] = stored
        return request_id

    def _info(self) -> dict[str, Any]:
        def schema(columns: dict[str, str], mapping: dict[str, str]) -> dict[str, Any]:
            return {"items": {mapping.get(n, n): {"type": t, "name": mapping.get(n, n), "columnIndex": i}
                              for i, (n, t) in enumerate(columns.items())}, "nameMapping": mapping}

        counts: dict[str, dict[str, int]] = {}
        for request in self.schedules.values():
            counts.setdefault(request["modelId"], {}).setdefault(request["metricName"], 0)
            counts[request["modelId"]][request["metricName"]] += 1
        return {name: {"metrics": {"scheduledMetadata": {"metricCounts": counts.get(name, {})}},
                       "data": {"inputSchema": schema(m.inputs, m.input_mapping),
                                "outputSchema": schema(m.outputs, m.output_mapping), "observations": m.rows}}
                for name, m in self.models.items()}

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/info":
            return 200, self._info()
        if method == "GET" and path == "/info/tags":
            return 200, {name: dict(m.tags) for name, m in self.models.items()}
        if method == "GET" and path == "/metrics/all/requests":
            if query.get("type", "all") != "all":
                return 400, f"Invalid metric requests type: {query['type']}"
            return 200, {"requests": [{"id": i, "request": r} for i, r in self.schedules.items()]}
        if method == "POST" and path == "/info/names":
            model = self.models.get(body["modelId"])
            if model is None:
                return 400, f"No metadata found for model={body['modelId']}."
            unknown = [k for k in body["inputMapping"] if k not in model.inputs] + [
                k for k in body["outputMapping"] if k not in model.outputs]
            if unknown:
                return 400, f"Not found in the model's columns: {unknown}"
            model.input_mapping, model.output_mapping = dict(body["inputMapping"]), dict(body["outputMapping"])
            return 200, "Feature and output name mapping successfully applied."
        match = re.fullmatch(r"/metrics/(drift|group/fairness)/(\w+)/request", path)
        if match and method == "POST":
            return self._schedule(match.group(1), match.group(2).upper(), body)
        if match and method == "DELETE":
            stored = self.schedules.get(body.get("requestId", ""))
            if stored is None or stored["metricName"] != match.group(2).upper():
                return 404, f"Error: Scheduled requestId={body.get('requestId')} not found"
            del self.schedules[body["requestId"]]
            return 200, "Removed"
        if method == "POST" and path == "/data/upload":
            return self._upload(body)
        raise AssertionError(f"the stand-in does not serve {method} {path}")

    def _schedule(self, kind: str, metric: str, body: dict[str, Any]) -> tuple[int, Any]:
        model = self.models.get(body["modelId"])
        if model is None:
            return 400, f"No metadata found for model={body['modelId']}. This can happen if TrustyAI has not yet " \
                        "logged any inferences from this model."
        if kind == "drift":
            if model.tags.get(body["referenceTag"], 0) < 1:
                return 400, f"No tag named '{body['referenceTag']}' found in data for model={body['modelId']}."
        else:
            if body["protectedAttribute"] not in model.mapped("inputs"):
                return 400, f"No feature found with name={body['protectedAttribute']}."
            if body["outcomeName"] not in model.mapped("outputs"):
                return 400, f"No output found with name={body['outcomeName']}."
        return 200, {"requestId": self.schedule(metric, body), "timestamp": "2026-12-01T10:00:00.000+00:00"}

    def _upload(self, body: dict[str, Any]) -> tuple[int, Any]:
        """Rows stored under model_name with data_tag; the columns named as TrustyAI names them."""
        columns: dict[str, dict[str, str]] = {}
        rows = set()
        for side, key in (("request", "inputs"), ("response", "outputs")):
            tensors = (body.get(side) or {}).get(key) or []
            if not tensors:
                return 400, f"The {side} has no {key}"
            problems = []
            for index, tensor in enumerate(tensors):
                problems += body_problems("TensorPayload", tensor, f"POST /data/upload.{side}.{key}[{index}]")
            if problems:
                self.problems += problems
                return 400, "; ".join(problems)
            columns[key], count = self._columns(tensors)
            rows.add(count)
        if len(rows) != 1:
            return 400, f"inputs and outputs hold different numbers of rows: {sorted(rows)}"
        tag = body.get("data_tag") or ""
        if tag.startswith("_trustyai"):
            return 400, f"The tag prefix '_trustyai' is reserved for internal TrustyAI use only. Provided tag '{tag}'"
        model = self.models.get(body["model_name"])
        if model is None:
            model = self.models[body["model_name"]] = Model(columns["inputs"], columns["outputs"])
        elif (model.inputs, model.outputs) != (columns["inputs"], columns["outputs"]):
            return 400, f"the upload's columns {columns} do not match the stored schema of {body['model_name']}"
        [count] = rows
        model.rows += count
        model.tags[tag] = model.tags.get(tag, 0) + count
        self.uploads.append(body)
        return 200, f"{count} datapoints successfully added to {body['model_name']} data."

    @staticmethod
    def _columns(tensors: list[dict[str, Any]]) -> tuple[dict[str, str], int]:
        """(column -> DataType, rows): one tensor holding a row per array gives <name>-i columns
        (UploadUtils.getBuilderInputsOrOutputs), one flat [n, 1] tensor gives <name>-0
        (TensorConverter), several tensors give one column each, named like the tensor."""
        kinds = {"FP32": "FLOAT", "FP64": "DOUBLE", "INT32": "INT32", "INT64": "INT64", "BOOL": "BOOL",
                 "BYTES": "STRING"}
        if len(tensors) > 1:
            return {t["name"]: kinds.get(t["datatype"], "UNKNOWN") for t in tensors}, int(tensors[0]["shape"][0])
        [tensor] = tensors
        kind = kinds.get(tensor["datatype"], "UNKNOWN")
        data, shape = tensor["data"], tensor["shape"]
        if data and isinstance(data[0], list):
            return {f"{tensor['name']}-{i}": kind for i in range(len(data[0]))}, len(data)
        if len(shape) == 2:
            return {f"{tensor['name']}-{i}": kind for i in range(int(shape[1]))}, int(shape[0])
        return {tensor["name"]: kind}, len(data)


class S3:
    """GET of objects, path-style, refusing any request whose SigV4 signature botocore computes differently."""

    def __init__(self, access_key: str, secret_key: str, region: str) -> None:
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.objects: dict[str, bytes] = {}  # "bucket/key" -> content
        self.requests: list[str] = []
        self.problems: list[str] = []

    def expected_authorization(self, url: str, headers: dict[str, str]) -> str:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        request = AWSRequest(method="GET", url=url, headers={
            "x-amz-content-sha256": headers.get("x-amz-content-sha256", ""),
            "x-amz-date": headers.get("x-amz-date", "")})
        request.context["timestamp"] = headers.get("x-amz-date", "")
        signer = S3SigV4Auth(Credentials(self.access_key, self.secret_key), "s3", self.region)
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        scope = f"{headers.get('x-amz-date', '')[:8]}/{self.region}/s3/aws4_request"
        return (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}")

    def answer(self, url: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self.requests.append(path)
        if headers.get("authorization") != self.expected_authorization(url, headers):
            return 403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
        content = self.objects.get(path.lstrip("/"))
        return (200, content) if content is not None else (404, b"<Error><Code>NoSuchKey</Code></Error>")


@contextmanager
def serving_s3(store: S3) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, data = store.answer(f"http://{headers.get('host')}{self.path}", self.path, headers)
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url


class Kubernetes:
    """GET of labelled ConfigMaps and of InferenceServices, from objects a test supplies."""

    def __init__(self, objects: list[dict[str, Any]], namespace: str) -> None:
        self.objects = objects
        self.namespace = namespace
        self.requests: list[str] = []
        self.problems: list[str] = []

    def answer(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if method != "GET":
            self.problems.append(f"{method} {path}: the hook may only read the Kubernetes API")
            return 405, {"kind": "Status", "code": 405}
        configmaps = re.fullmatch(r"/api/v1/namespaces/([^/]+)/configmaps", path)
        if configmaps:
            key, _, value = query.get("labelSelector", "").partition("=")
            items = [o for o in self.objects if o["kind"] == "ConfigMap"
                     and o["metadata"].get("namespace", self.namespace) == configmaps.group(1)
                     and (o["metadata"].get("labels") or {}).get(key) == value]
            return 200, {"kind": "ConfigMapList", "apiVersion": "v1", "items": items}
        isvc = re.fullmatch(r"/apis/serving\.kserve\.io/v1beta1/namespaces/([^/]+)/inferenceservices/([^/]+)", path)
        if isvc:
            found = [o for o in self.objects if o["kind"] == "InferenceService" and o["metadata"]["name"] ==
                     isvc.group(2) and o["metadata"].get("namespace", self.namespace) == isvc.group(1)]
            if found:
                return 200, found[0]
            return 404, {"kind": "Status", "code": 404, "reason": "NotFound"}
        self.problems.append(f"GET {path}: not a call the hook should make")
        return 404, {"kind": "Status", "code": 404}


def _handler(answer: Any, record: list[dict[str, Any]], tokens: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _one(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            record.append({"method": method, "path": url.path, "query": query, "body": body,
                           "authorization": self.headers.get("Authorization")})
            if self.headers.get("Authorization") not in tokens:
                status, payload = 401, "Unauthorized"
            else:
                status, payload = answer(method, url.path, query, body)
            data = (json.dumps(payload) if not isinstance(payload, str) else payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._one("GET")

        def do_POST(self) -> None:
            self._one("POST")

        def do_DELETE(self) -> None:
            self._one("DELETE")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving_trustyai(service: TrustyAI, token: str) -> Iterator[str]:
    def answer(method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        service.problems.extend(contract_problems(method, path, body))
        status = service.refuse.get((method, path))
        if status is not None:
            return status, "refused by the test"
        return service.answer(method, path, query, body)

    with serving(_handler(answer, service.requests, {f"Bearer {token}"})) as url:
        yield url


@contextmanager
def serving_kubernetes(api: Kubernetes, token: str) -> Iterator[str]:
    record: list[dict[str, Any]] = []

    def answer(method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        api.requests.append(f"{method} {path}")
        return api.answer(method, path, query)

    with serving(_handler(answer, record, {f"Bearer {token}"})) as url:
        yield url
