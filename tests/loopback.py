"""An HTTP server on a free loopback port for the life of a `with` block.

Several tests stand in for an outside service (GitHub, MLflow, a schema catalog, the pipeline
server); they differ in what they answer, not in how they are served.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POLL = 0.02


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 in a thread; yields the base URL, and stops the server afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # `shutdown` waits until the loop next looks at its flag: every POLL seconds, not the default half second
    # that every test with a stand-in would otherwise spend on its way out
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
