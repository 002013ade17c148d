"""`digest serve`: a local web app over a workspace where every survey value and every cited answer opens the
page of the paper it came from, the quoted words highlighted.

Pages: the survey (all sheets, sortable, filterable, exported in every format), a paper's sheet and outline,
page images with the evidence highlighted, ask (a conversation per browser), compare (benchmarks across papers)
and add papers (a background job whose progress the page polls). `guard` holds the safety checks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..errors import DigestError, one_line
from ..settings import Settings
from . import views
from .guard import Guard, exposure_warning, is_loopback
from .pages import PageNotFound
from .state import Library

HERE = Path(__file__).parent
MAX_UPLOAD = 200 * 2**20  # bytes one add-papers form may send


def create_app(settings: Settings, token: str | None = None, loopback_only: bool = True,
               max_upload: int = MAX_UPLOAD) -> Starlette:
    """The app over `settings.workspace`; `token` (when given) is required on every request, `loopback_only`
    refuses host names other than loopback ones."""
    library = Library(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        library.jobs.shutdown()

    routes = [
        Route("/", views.survey),
        Route("/export/{fmt}", views.export),
        Route("/paper/{paper_id}", views.paper),
        Route("/paper/{paper_id}/pdf", views.paper_pdf),
        Route("/paper/{paper_id}/page/{page:int}", views.page),
        Route("/paper/{paper_id}/page/{page:int}.png", views.page_image),
        Route("/paper/{paper_id}/evidence/{n:int}", views.evidence),
        Route("/ask", views.ask_page, methods=["GET"]),
        Route("/ask", views.ask, methods=["POST"]),
        Route("/ask/new", views.new_conversation, methods=["POST"]),
        Route("/compare", views.compare),
        Route("/add", views.add_form, methods=["GET"]),
        Route("/add", views.add, methods=["POST"]),
        Route("/add/{job_id}", views.job_page),
        Route("/api/jobs/{job_id}", views.job_status),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(Guard, token, loopback_only)],
                    exception_handlers={HTTPException: _http_error, DigestError: _digest_error})
    app.state.library = library
    app.state.max_upload = max_upload
    app.state.templates = Jinja2Templates(env=jinja2.Environment(
        loader=jinja2.PackageLoader("digest.serve", "templates"), autoescape=True, trim_blocks=True,
        lstrip_blocks=True, undefined=jinja2.StrictUndefined))
    return app


def serve(settings: Settings, host: str, port: int, token: str | None, echo: Callable[[str], None]) -> None:
    """Run the app with uvicorn until interrupted; DigestError when `host` is exposed without a token."""
    import uvicorn

    warning = exposure_warning(host, token)
    if warning:
        echo(warning)
    shown = f"[{host}]" if ":" in host else host
    echo(f"digest serve: http://{shown}:{port}/{'?token=' + token if token else ''}  (Ctrl+C stops it)")
    uvicorn.run(create_app(settings, token, is_loopback(host)), host=host, port=port, log_level="warning")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _error(request, exc.status_code, exc.detail)


async def _digest_error(request: Request, exc: DigestError) -> Response:
    return _error(request, 404 if isinstance(exc, PageNotFound) else 400, one_line(exc))


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status)
    return views.render(request, "error.html", status, code=status, message=message)
