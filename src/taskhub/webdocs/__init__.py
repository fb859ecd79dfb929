"""`/docs` (Swagger UI) and `/redoc` from assets installed with the package: no CDN.

The Swagger UI and ReDoc bundles come from the `fastapi-offline` distribution (its
`static/` folder; the Python code of that package is not used). The pages start them
from small scripts of ours in `static/`, so the pages need no inline script and the
Content-Security-Policy can stay `script-src 'self'`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

VENDOR_PACKAGE = "fastapi_offline"
ASSETS = "/docs/assets"
OWN_ASSETS = "/docs/js"

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API docs</title>
<link rel="icon" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{own}/swagger-init.js" data-openapi-url="{openapi}"></script>
</body></html>"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API reference</title>
<link rel="icon" href="{assets}/favicon.png">
<style>body {{ margin: 0; padding: 0; }}</style>
</head><body><div id="redoc"></div>
<script src="{assets}/redoc.standalone.js"></script>
<script src="{own}/redoc-init.js" data-openapi-url="{openapi}"></script>
</body></html>"""


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (create the app with docs_url=None)."""
    values = {
        "title": escape(app.title),
        "assets": ASSETS,
        "own": OWN_ASSETS,
        "openapi": escape(app.openapi_url or "/openapi.json"),
    }
    swagger = _SWAGGER.format(**values)
    redoc = _REDOC.format(**values)
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger)

    @router.get("/redoc")
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc)

    app.include_router(router)
    app.mount(ASSETS, StaticFiles(packages=[(VENDOR_PACKAGE, "static")]), name="docs-assets")
    app.mount(OWN_ASSETS, StaticFiles(directory=Path(__file__).parent / "static"), name="docs-js")
