"""`serve(kb, host, port)`: run the app with uvicorn (what `trialkb serve` calls)."""

from __future__ import annotations

import uvicorn

from kb.api.app import create_app
from kb.facade import KnowledgeBase


def serve(kb: KnowledgeBase, host: str, port: int) -> None:
    """Serve the app over HTTP until interrupted; query workers start and stop with it."""
    app = create_app(kb, kb.settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # A SPARQL query in a GET URL may be long; the query-length cap still applies after decoding.
        h11_max_incomplete_event_size=256 * 1024,
        timeout_graceful_shutdown=5,
    )
