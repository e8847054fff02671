"""tessera's service (the STAC API, the tile routes, the map viewer) as an
ASGI application: ``uvicorn`` (or any ASGI server) serves it, and a
FastAPI/Starlette app can mount it::

    import tessera, tessera.asgi
    catalog = tessera.Catalog.open("sqlite:///data/catalog.db")
    app = tessera.asgi.app(catalog)            # uvicorn module:app

Requests are answered by :class:`tessera.Service` on a worker thread (the
GIL is released while it works), so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, MutableMapping
from urllib.parse import parse_qsl

from ._tessera import Catalog, Service

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

__all__ = ["app", "App"]


class App:
    """An ASGI 3 application over a :class:`tessera.Service`."""

    def __init__(self, service: Service, max_body_bytes: int = 16 << 20) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"tessera.asgi: {scope['type']} connections are not served")
        body = await self._body(receive)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope.get("headers", [])]
        names = {name.lower() for name, _ in headers}
        # What the server knows of the public URL, unless a proxy said more.
        if "forwarded" not in names and "x-forwarded-proto" not in names and scope.get("scheme"):
            headers.append(("X-Forwarded-Proto", scope["scheme"]))
        if scope.get("root_path") and "x-forwarded-prefix" not in names:
            headers.append(("X-Forwarded-Prefix", scope["root_path"]))
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        loop = asyncio.get_running_loop()
        status, response_headers, response_body = await loop.run_in_executor(
            None, self.service.handle, scope["method"], scope["path"], query, headers, body
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response_headers],
            }
        )
        await send({"type": "http.response.body", "body": response_body})

    async def _body(self, receive: Receive) -> bytes:
        """The request body; one byte past the limit is kept so the service answers 413."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            if size <= self.max_body_bytes:
                chunks.append(chunk[: self.max_body_bytes + 1 - size])
                size += len(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def app(source: Service | Catalog | None, **options: Any) -> App:
    """An ASGI application serving ``source``: a :class:`tessera.Service`, or a
    :class:`tessera.Catalog` (or None: COG tiles and the viewer only) with the
    Service's keyword options (title, description, max_body_bytes, max_limit,
    default_limit, cors_origins, browser_dir: a built STAC Browser served at
    /browser/, jwks, issuers, audience, leeway_seconds, require_auth,
    allow_anonymous_writes, stac and tiles: which routes to serve,
    viewer_dir: the built map viewer served at /viewer/, basemap_path: its
    GeoJSON base layer, cache_max_age_seconds: the tile answers'
    Cache-Control)."""
    service = source if isinstance(source, Service) else Service(source, **options)
    return App(service, options.get("max_body_bytes", 16 << 20))
