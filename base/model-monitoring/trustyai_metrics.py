"""Make TrustyAI's scheduled metric requests match the monitoring declarations in Git.

TrustyAI publishes a drift or fairness metric (`trustyai_meanshift`, `trustyai_spd`, ...) only for
the requests someone scheduled through its REST API; it keeps them in its own storage, and no
Kubernetes object declares one. So after every sync of an environment, the Argo CD PostSync hook
Job of base/model-monitoring runs this script: it reads the declaration of every model deployed
in the project (the ConfigMaps labelled `mlops.dev/monitoring-declaration: "true"` that
`mlops model monitoring` generates from `models/<model>/model.yaml`) and makes TrustyAI's scheduled
requests equal to them: it creates what is missing, deletes what no declaration asks for (including
requests made by hand in the dashboard), and leaves what matches alone.

Per model: it reads the InferenceService's version (label `app.kubernetes.io/version`) and
location (`spec.predictor.model.storageUri`), because drift is measured against the data that
version was trained on: when TrustyAI holds no rows tagged `training-<version>`, it reads the
reference the training run uploaded next to the model (`<storageUri>trustyai-reference.json`,
through the project's S3 data connection) and uploads it to TrustyAI with that tag (POST
/data/upload). It applies the declared column names as TrustyAI's name mapping (POST
/info/names), then schedules each request (POST /metrics/<kind>/<metric>/request). TrustyAI
refuses requests for a model it holds no data of, or whose reference tag has no rows
(`validators/metrics/drift/DriftMetricRequestValidator.java`); such requests (a version trained
without a reference, no S3 credentials) are reported as waiting, not sent, and a later sync
sends them.

Endpoints and bodies: trustyai-explainability `explainability-service`,
`endpoints/metrics/BaseEndpoint.java` (schedule, delete), `endpoints/metrics/UniversalListingEndpoint.java`
(GET /metrics/all/requests), `endpoints/service/ServiceMetadataEndpoint.java` (GET /info,
GET /info/tags, POST /info/names). TrustyAI is reached through the kube-rbac-proxy of its
`<name>-tls` Service (trustyai-service-operator `controllers/tas/templates/service/service-tls.tmpl.yaml`,
port 443), which lets a request through when the pod's ServiceAccount may `get` the Service
`<name>` (`controllers/tas/templates/kube-rbac-proxy/config.tmpl.yaml`).

Only reads are retried: a POST or DELETE that timed out may have taken effect, and the next sync
reconciles again. Requests are created before extra ones are deleted, so a failure midway never
leaves fewer metrics than before. The Python standard library is all it needs.

Configuration (environment variables):

    TRUSTYAI_SERVICE   the TrustyAIService's name (default: trustyai-service)
    TRUSTYAI_URL       its API (default: https://<TRUSTYAI_SERVICE>-tls.<namespace>.svc)
    KUBERNETES_URL     the Kubernetes API (default: https://kubernetes.default.svc)
    DECLARATION_LABEL  label selector of the declarations (default: mlops.dev/monitoring-declaration=true)
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT, AWS_DEFAULT_REGION
                       the S3 data connection the reference data is read with (none: no upload)
    NAMESPACE, TOKEN_FILE, KUBE_CA_FILE, SERVICE_CA_FILE   default to the pod's ServiceAccount files

Exit codes: 0 TrustyAI holds exactly the declared requests (some may wait for data), 1 TrustyAI or
the Kubernetes API failed or refused a call, 2 a declaration or the configuration is wrong.
"""

from __future__ import annotations

import json
import math
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import s3_get  # beside this script (the same ConfigMap)

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ATTEMPTS = 4
VERSION_LABEL = "app.kubernetes.io/version"
#: TrustyAI metric name -> its endpoint (endpoints/metrics/...); DELETE <endpoint>/request removes one.
ENDPOINTS = {
    "SPD": "/metrics/group/fairness/spd", "DIR": "/metrics/group/fairness/dir",
    "MEANSHIFT": "/metrics/drift/meanshift", "KSTEST": "/metrics/drift/kstest",
    "APPROXKSTEST": "/metrics/drift/approxkstest", "FOURIERMMD": "/metrics/drift/fouriermmd",
    "IDENTITY": "/metrics/identity",
}
DRIFT = ("MEANSHIFT", "KSTEST", "APPROXKSTEST", "FOURIERMMD")


class ConfigurationError(Exception):
    """A declaration is malformed or names something the project does not have (exit code 2)."""


class ServerError(Exception):
    """TrustyAI or the Kubernetes API could not be reached or refused a call (exit code 1)."""


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


class Api:
    """JSON over HTTP(S) with the pod's ServiceAccount token; reads retried, writes sent once."""

    def __init__(self, base: str, token_file: str | None, ca_file: str | None, what: str) -> None:
        self.base = base.rstrip("/")
        self.token_file = token_file
        self.what = what
        self.context: ssl.SSLContext | None = None
        if self.base.startswith("https://"):
            self.context = ssl.create_default_context(cafile=ca_file if ca_file and os.path.isfile(ca_file) else None)

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
             missing_ok: bool = False) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempts = ATTEMPTS if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Accept", "application/json, text/plain")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            if self.token_file and os.path.isfile(self.token_file):
                request.add_header("Authorization", "Bearer " + _read(self.token_file))  # rotated: read each time
            try:
                with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                    text = response.read().decode("utf-8")
                    try:
                        return json.loads(text) if text.strip() else None
                    except json.JSONDecodeError:
                        return text
            except urllib.error.HTTPError as error:
                detail = " ".join(error.read().decode("utf-8", "replace").split())[:500]
                if error.code == 404 and missing_ok:
                    return None
                if error.code in (401, 403):
                    raise ServerError(f"{self.what}: {method} {path}: HTTP {error.code}; the Job's ServiceAccount "
                                      f"lacks a permission (Role trustyai-metrics): {detail}") from None
                if error.code < 500 or attempt == attempts:
                    raise ServerError(f"{self.what} refused {method} {path}: HTTP {error.code}: {detail}") from None
                problem = f"HTTP {error.code}"
            except (urllib.error.URLError, OSError) as error:
                if attempt == attempts:
                    raise ServerError(f"{self.what}: {method} {url}: {error}") from None
                problem = str(error)
            wait = 5 * 2 ** (attempt - 1)
            print(f"{self.what}: {method} {path}: {problem}; retrying in {wait} s", file=sys.stderr)
            time.sleep(wait)
        raise AssertionError("unreachable")


# --- what Git declares -------------------------------------------------------------------------


def declarations(kube: Api, namespace: str, selector: str) -> list[dict[str, Any]]:
    """The monitoring declarations of the project, one per model, from the labelled ConfigMaps."""
    listing = kube.call("GET", f"/api/v1/namespaces/{namespace}/configmaps", query={"labelSelector": selector})
    found: dict[str, dict[str, Any]] = {}
    for item in (listing or {}).get("items") or []:
        name = item.get("metadata", {}).get("name", "?")
        text = (item.get("data") or {}).get("declaration.json")
        try:
            declaration = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"ConfigMap {name}: declaration.json is not JSON ({error})") from None
        if not isinstance(declaration, dict) or not isinstance(declaration.get("model"), str):
            raise ConfigurationError(f"ConfigMap {name}: declaration.json has no model; regenerate it with "
                                     "`mlops model monitoring`")
        for request in declaration.get("requests") or []:
            if request.get("metric") not in ENDPOINTS:
                raise ConfigurationError(f"ConfigMap {name}: unknown metric {request.get('metric')!r}")
        if declaration["model"] in found:
            raise ConfigurationError(f"two declarations for model {declaration['model']}")
        found[declaration["model"]] = declaration
    return [found[model] for model in sorted(found)]


def served_version(kube: Api, namespace: str, model: str) -> tuple[str, str]:
    """(version, storageUri) the InferenceService serves (both written by `mlops promote`)."""
    isvc = kube.call("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{model}",
                     missing_ok=True)
    if isvc is None:
        raise ConfigurationError(f"a monitoring declaration names {model}, but the project has no "
                                 f"InferenceService {model}")
    version = ((isvc.get("metadata") or {}).get("labels") or {}).get(VERSION_LABEL)
    if not version:
        raise ConfigurationError(f"InferenceService {model} has no label {VERSION_LABEL}")
    storage = (((isvc.get("spec") or {}).get("predictor") or {}).get("model") or {}).get("storageUri") or ""
    return str(version), str(storage)


#: Reads a version's reference data: (storageUri, file name) -> the upload body, or why there is none.
Fetch = Callable[[str, str], "dict[str, Any] | str"]


def s3_fetch(environ: dict[str, str], ca_file: str | None) -> Fetch:
    """Read `<storageUri><name>` with the data connection's credentials; reads retried."""
    context = ssl.create_default_context()
    if ca_file and os.path.isfile(ca_file):
        context.load_verify_locations(ca_file)  # an in-cluster S3 Service signed by the service CA

    def fetch(storage_uri: str, name: str) -> dict[str, Any] | str:
        if not storage_uri.startswith("s3://"):
            return f"the model is not served from S3 ({storage_uri or 'no storageUri'}), so no reference to read"
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT")
        if not all(environ.get(k) for k in keys):
            return f"no S3 credentials ({', '.join(keys)} from the Secret mlops-s3) to read the reference data"
        bucket, _, prefix = storage_uri[len("s3://"):].partition("/")
        key = prefix.rstrip("/") + "/" + name if prefix.strip("/") else name
        for attempt in range(1, ATTEMPTS + 1):
            try:
                data = s3_get.get_object(environ["AWS_S3_ENDPOINT"], bucket, key, environ["AWS_ACCESS_KEY_ID"],
                                         environ["AWS_SECRET_ACCESS_KEY"], environ.get("AWS_DEFAULT_REGION", ""),
                                         context)
                break
            except s3_get.Missing:
                return f"no reference data at s3://{bucket}/{key} (the version was trained without one)"
            except urllib.error.HTTPError as error:
                if error.code < 500 or attempt == ATTEMPTS:
                    raise ServerError(f"S3 refused GET s3://{bucket}/{key}: HTTP {error.code}") from None
            except (urllib.error.URLError, OSError) as error:
                if attempt == ATTEMPTS:
                    raise ServerError(f"S3: GET s3://{bucket}/{key}: {error}") from None
            time.sleep(5 * 2 ** (attempt - 1))
        try:
            body = json.loads(data)
        except json.JSONDecodeError:
            return f"s3://{bucket}/{key} is not JSON"
        if not isinstance(body, dict) or not {"request", "response"} <= set(body):
            return f"s3://{bucket}/{key} is not a TrustyAI upload body (request and response)"
        return body

    return fetch


def wanted(declaration: dict[str, Any], reference_tag: str) -> list[tuple[str, dict[str, Any]]]:
    """(metric, request body) of every request a declaration asks for."""
    result = []
    for request in declaration.get("requests") or []:
        body = {key: value for key, value in request.items() if key != "metric"}
        body.update(modelId=declaration["model"], batchSize=int(declaration.get("batchSize") or 5000))
        if request["metric"] in DRIFT:
            body["referenceTag"] = reference_tag
        result.append((request["metric"], body))
    return result


# --- comparing with what TrustyAI holds --------------------------------------------------------


def _plain(value: Any) -> Any:
    """A stored request value as sent: TrustyAI lists typed values as {"type": ..., "value": ...}
    (`payloads/values/reconcilable/serializers/ReconcilableFieldSerializer.java`)."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _equal(have: Any, want: Any) -> bool:
    have = _plain(have)
    if isinstance(want, bool) or isinstance(have, bool):
        return have is want
    if isinstance(want, int | float) and isinstance(have, int | float):
        return math.isclose(float(have), float(want), rel_tol=1e-9, abs_tol=1e-12)
    return bool(have == want)


def matches(stored: dict[str, Any], metric: str, body: dict[str, Any]) -> bool:
    """Does a scheduled request compute what the declared body asks for?"""
    return stored.get("metricName") == metric and all(_equal(stored.get(key), value) for key, value in body.items())


def _mapping(info: dict[str, Any], side: str) -> dict[str, str]:
    schema = ((info.get("data") or {}).get(side) or {})
    return {str(k): str(v) for k, v in (schema.get("nameMapping") or {}).items()}


def _upload_reference(trustyai: Api, fetch: Fetch, declaration: dict[str, Any], storage_uri: str, tag: str,
                      entry: dict[str, Any]) -> bool:
    """Upload the served version's reference rows with `tag`; False (and why, in entry) when there are none."""
    name = declaration.get("referenceData")
    if not name:
        entry["reference"] = "the declaration names no reference data"
        return False
    body = fetch(storage_uri, str(name))
    if isinstance(body, str):
        entry["reference"] = body
        return False
    trustyai.call("POST", "/data/upload", {"model_name": declaration["model"], "data_tag": tag, **body})
    rows = ((body["request"].get("inputs") or [{}])[0].get("shape") or ["?"])[0]
    entry["reference"] = f"uploaded {rows} rows tagged {tag}"
    return True


def reconcile(trustyai: Api, items: list[tuple[dict[str, Any], str, str]], fetch: Fetch) -> list[dict[str, Any]]:
    """Make TrustyAI hold the declared requests of `items` ((declaration, version, storageUri)) and no others."""
    info = trustyai.call("GET", "/info") or {}
    tags = trustyai.call("GET", "/info/tags") or {}
    scheduled = list((trustyai.call("GET", "/metrics/all/requests") or {}).get("requests") or [])
    report: list[dict[str, Any]] = []
    keep: set[str] = set()
    for declaration, version, storage_uri in items:
        model = declaration["model"]
        entry: dict[str, Any] = {"model": model, "version": version, "created": [], "unchanged": [], "deleted": [],
                                 "waiting": []}
        report.append(entry)
        reference_tag = f"{declaration.get('referenceTagPrefix') or 'training-'}{version}"
        requests = wanted(declaration, reference_tag)
        needs_reference = any(metric in DRIFT for metric, _ in requests)
        if needs_reference and int(((tags.get(model) or {}).get(reference_tag)) or 0) < 1 and _upload_reference(
                trustyai, fetch, declaration, storage_uri, reference_tag, entry):
            info = trustyai.call("GET", "/info") or {}  # the upload may have created the model's metadata
            tags = trustyai.call("GET", "/info/tags") or {}
        metadata = info.get(model)
        if not isinstance(metadata, dict) or metadata.get("data") is None:
            why = f": {entry['reference']}" if entry.get("reference") else ""
            entry["waiting"] = [f"{body['requestName']}: TrustyAI holds no data of {model} yet (it arrives with "
                                f"the first logged inference or the reference upload){why}" for _, body in requests]
            continue
        mapping = declaration.get("nameMapping") or {}
        want_in, want_out = mapping.get("inputMapping") or {}, mapping.get("outputMapping") or {}
        if (_mapping(metadata, "inputSchema"), _mapping(metadata, "outputSchema")) != (want_in, want_out):
            trustyai.call("POST", "/info/names", {"modelId": model, "inputMapping": want_in, "outputMapping": want_out})
            entry["nameMapping"] = "applied"
        has_reference = int(((tags.get(model) or {}).get(reference_tag)) or 0) > 0
        for metric, body in requests:
            if metric in DRIFT and not has_reference:
                why = entry.get("reference", "")
                entry["waiting"].append(f"{body['requestName']}: no rows tagged {reference_tag} (the training data "
                                        f"of {model} {version}) in TrustyAI yet" + (f": {why}" if why else ""))
                continue
            same = next((s for s in scheduled if str(s.get("id")) not in keep
                         and matches(s.get("request") or {}, metric, body)), None)
            if same is not None:
                keep.add(str(same.get("id")))
                entry["unchanged"].append(body["requestName"])
                continue
            answer = trustyai.call("POST", f"{ENDPOINTS[metric]}/request", body)
            request_id = answer.get("requestId") if isinstance(answer, dict) else None
            if not request_id:
                raise ServerError(f"TrustyAI answered POST {ENDPOINTS[metric]}/request without a requestId: {answer!r}")
            keep.add(str(request_id))
            entry["created"].append(body["requestName"])
    extra: dict[str, Any] = {"model": "(not declared)", "deleted": [], "kept": []}
    for schedule in scheduled:
        request_id, request = str(schedule.get("id")), schedule.get("request") or {}
        if request_id in keep:
            continue
        metric = request.get("metricName")
        owner = next((e for e in report if e["model"] == request.get("modelId")), extra)
        if metric not in ENDPOINTS:
            extra["kept"].append(f"{request_id} ({metric}: no endpoint known to delete it)")
            continue
        trustyai.call("DELETE", f"{ENDPOINTS[metric]}/request", {"requestId": request_id})
        owner["deleted"].append(request.get("requestName") or f"{metric} {request_id}")
    if extra["deleted"] or extra["kept"]:
        report.append(extra)
    return report


def main(environ: dict[str, str]) -> int:
    try:
        namespace = environ.get("NAMESPACE") or _read(f"{SERVICE_ACCOUNT_DIR}/namespace")
        token = environ.get("TOKEN_FILE", f"{SERVICE_ACCOUNT_DIR}/token")
        service = environ.get("TRUSTYAI_SERVICE") or "trustyai-service"
        kube = Api(environ.get("KUBERNETES_URL") or "https://kubernetes.default.svc", token,
                   environ.get("KUBE_CA_FILE", f"{SERVICE_ACCOUNT_DIR}/ca.crt"), "Kubernetes API")
        trustyai = Api(environ.get("TRUSTYAI_URL") or f"https://{service}-tls.{namespace}.svc", token,
                       environ.get("SERVICE_CA_FILE", f"{SERVICE_ACCOUNT_DIR}/service-ca.crt"), "TrustyAI")
        selector = environ.get("DECLARATION_LABEL") or "mlops.dev/monitoring-declaration=true"
        found = declarations(kube, namespace, selector)
        items = [(declaration, *served_version(kube, namespace, declaration["model"])) for declaration in found]
        fetch = s3_fetch(environ, environ.get("SERVICE_CA_FILE", f"{SERVICE_ACCOUNT_DIR}/service-ca.crt"))
        report = reconcile(trustyai, items, fetch)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for entry in report:
        print(json.dumps(entry))
        for waiting in entry.get("waiting", []):
            print(f"waiting: {entry['model']}: {waiting}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))
