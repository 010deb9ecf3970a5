"""Step function of the retraining gate: does production show a reason to retrain?

The recurring run starts with this step. It asks the cluster's Prometheus-compatible API (the
Thanos Querier of OpenShift monitoring) each declared signal's PromQL query, an instant query at
run time over a window (the week between two scheduled runs). A signal that answers with at least
one series says yes: for the default signals, a declared drift feature whose p-value was at or
below its declared threshold, or a declared fairness metric beyond its bound, at some point in
the window (series recorded by base/monitoring and models/<model>/monitoring.yaml). The run
retrains when a signal says yes or when it is forced. Every query, its answer and the decision go
into the step's report, so the run shows why it retrained or stopped.

On the cluster the step queries the Thanos Querier's tenancy port (9092), which answers only for
the namespace named by the `namespace` query parameter and only to a caller with the `view` role
in it (cluster-monitoring-operator `assets/thanos-querier/service.yaml`), with the pod's
ServiceAccount token; base/pipelines grants the pipeline runner that role.

A failed query fails the step unless the run is forced (then the error is in the report): a
gate that cannot see production must not decide silently either way.
"""

from __future__ import annotations

from typing import Any


def check_retraining_signal(prometheus_url: str, signals_json: str, window: str, namespace: str, model: str,
                            force: bool, report_path: str, token_file: str = "", ca_file: str = "",
                            attempts: int = 3) -> bool:
    """True when the run should retrain; writes the Markdown report to report_path.

    signals_json: {"name": "PromQL with {namespace}, {model} and {window}", ...}; {} leaves only force.
    Raises ValueError for a malformed signal, RuntimeError when Prometheus fails (unless forced).
    """
    import datetime
    import json
    import os
    import re
    import ssl
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    if not re.fullmatch(r"[0-9]+[smhdw]", window):
        raise ValueError(f"retrain window {window!r} is not a Prometheus duration such as 7d or 24h")
    signals = json.loads(signals_json)
    if not isinstance(signals, dict) or not all(isinstance(q, str) for q in signals.values()):
        raise ValueError("retrain signals must be a JSON object of signal name -> PromQL query")
    context = None
    if prometheus_url.startswith("https://"):
        context = ssl.create_default_context(cafile=ca_file if ca_file and os.path.isfile(ca_file) else None)

    def ask(query: str) -> list[dict[str, Any]]:
        parameters = {"query": query}
        if namespace:
            parameters["namespace"] = namespace  # the tenancy port's project
        url = f"{prometheus_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode(parameters)}"
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, headers={"Accept": "application/json"})
            if token_file and os.path.isfile(token_file):
                with open(token_file, encoding="utf-8") as handle:
                    request.add_header("Authorization", "Bearer " + handle.read().strip())
            try:
                with urllib.request.urlopen(request, timeout=30, context=context) as response:
                    answer = json.loads(response.read().decode("utf-8"))
                break
            except urllib.error.HTTPError as error:
                detail = " ".join(error.read().decode("utf-8", "replace").split())[:300]
                if error.code < 500 or attempt == attempts:
                    raise RuntimeError(f"{prometheus_url} answered HTTP {error.code}: {detail}") from None
            except (urllib.error.URLError, OSError) as error:
                if attempt == attempts:
                    raise RuntimeError(f"{prometheus_url} could not be reached: {error}") from None
            time.sleep(2 ** attempt)
        if answer.get("status") != "success":
            raise RuntimeError(f"{prometheus_url} refused the query: {answer.get('error', answer)}")
        result = answer.get("data", {}).get("result", [])
        if answer.get("data", {}).get("resultType") != "vector":
            raise ValueError(f"the query {query!r} is not an instant vector query")
        return list(result)

    def shown(series: dict[str, Any]) -> str:
        labels = {k: v for k, v in series.get("metric", {}).items() if k not in ("namespace", "model", "__name__")}
        return (", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(no labels)") + f": {series['value'][1]}"

    rows, fired, failures = [], [], []
    for name, template in signals.items():
        query = template.replace("{namespace}", namespace).replace("{model}", model).replace("{window}", window)
        try:
            result = ask(query)
        except RuntimeError as error:
            if not force:
                raise
            failures.append(name)
            rows.append((name, query, f"query failed: {error}"))
            continue
        if result:
            fired.append(name)
        rows.append((name, query, "; ".join(shown(s) for s in result) if result else "no series: not crossed"))
    retrain = force or bool(fired)
    if force:
        decision = "retrain: forced (force_retrain)" + (f"; {', '.join(fired)} crossed too" if fired else "")
    elif fired:
        decision = f"retrain: {', '.join(fired)} crossed its threshold in the last {window}"
    elif signals:
        decision = f"skip: no signal crossed its threshold in the last {window}; nothing after this step runs"
    else:
        decision = "skip: no signals are declared, and only force_retrain retrains"
    asked = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [f"# Retraining signal of {model}", "",
             f"Asked {prometheus_url} ({'namespace ' + namespace if namespace else 'no namespace'}) at {asked}, "
             f"window {window}.", "", "| signal | query | answer |", "| --- | --- | --- |"]
    lines += [f"| {name} | `{query.replace('|', '&#124;')}` | {answer.replace('|', '&#124;')} |"
              for name, query, answer in rows]
    lines += ["", f"**Decision:** {decision}", ""]
    os.makedirs(os.path.dirname(report_path) or ".", exist_ok=True)
    with open(report_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))
    return retrain
