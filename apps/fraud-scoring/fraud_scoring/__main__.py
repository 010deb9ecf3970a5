"""`python -m fraud_scoring`: serve the scoring API until the pod stops.

Configuration (environment variables):

    MODEL_NAME       the InferenceService to call (default: fraud-detection)
    MODEL_AUTH       "true": its endpoint needs a token (https on 8443); "false": plain http (default: true)
    MODEL_URL        the endpoint, overriding the two above (e.g. http://127.0.0.1:8080)
    FLAG_THRESHOLD   fraud probability from which a transaction is flagged (default: 0.5)
    CURRENCY         label of the amount metrics (default: EUR)
    PORT             port of the API and /metrics (default: 8080)
    BIND_ADDRESS     address to listen on (default: 0.0.0.0, every interface of the pod)
    NAMESPACE, TOKEN_FILE, CA_FILE   default to the pod's ServiceAccount files
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from http.server import ThreadingHTTPServer

from .metrics import Metrics
from .model import ModelClient, endpoint
from .service import Scorer, handler

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def build(environ: dict[str, str]) -> Scorer:
    namespace = environ.get("NAMESPACE", "")
    if not namespace:
        with open(f"{SERVICE_ACCOUNT_DIR}/namespace", encoding="utf-8") as handle:
            namespace = handle.read().strip()
    threshold = float(environ.get("FLAG_THRESHOLD") or "0.5")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"FLAG_THRESHOLD={threshold} is not between 0 and 1")
    client = ModelClient(endpoint(environ, namespace), environ.get("MODEL_NAME") or "fraud-detection",
                         environ.get("TOKEN_FILE", f"{SERVICE_ACCOUNT_DIR}/token"),
                         environ.get("CA_FILE", f"{SERVICE_ACCOUNT_DIR}/service-ca.crt"))
    return Scorer(client, Metrics(environ.get("CURRENCY") or "EUR"), threshold)


def main(environ: dict[str, str]) -> int:
    try:
        scorer = build(environ)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    address = environ.get("BIND_ADDRESS") or "0.0.0.0"
    server = ThreadingHTTPServer((address, int(environ.get("PORT") or "8080")), handler(scorer))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"scoring with {scorer.client.url}/v2/models/{scorer.client.model}, flag threshold {scorer.threshold}")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))
