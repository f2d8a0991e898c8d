"""The web dashboard as an ASGI app: HTML pages, the JSON feeds they poll, static files.

Pages are server-rendered shells; a little JavaScript fills them from the feeds (and
from the control API's own JSON endpoints where those exist) about once a second,
so they follow changes without a reload. Every link is built from the request's
root path, so the app works at ``/``, under a Mount, or behind a proxy that strips a
prefix and sends ``X-Forwarded-Prefix``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from dashboards import pages
from dashboards.feeds.alerts import STATUSES, alerts_list, open_alert_count
from dashboards.feeds.drift import (
    drift_models,
    drift_overview,
    feature_distribution,
    report_detail,
)
from dashboards.feeds.models import model_detail, models_overview, parse_profile
from dashboards.feeds.rollouts import rollout_series
from dashboards.links import Links
from dashboards.source import DashboardSource
from dashboards.vendor import plotly_file
from migrations.models import TERMINAL_ROLLOUT_PHASES, Rollout
from monitors.profile_schema import ReferenceProfile
from monitors.store import report_by_id
from registry.errors import NotFound, RegistryError

__all__ = ["create_dashboard_app"]

STATIC_DIR = Path(__file__).with_name("static")
Endpoint = Callable[[Request], Awaitable[Response]]


class FeedError(Exception):
    """A feed cannot answer: ``status`` and a one-line ``detail`` for the page."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def create_dashboard_app(
    source: DashboardSource, *, prefix: str = "", api_path: str = "/api/v1"
) -> Starlette:
    """The dashboard over ``source``.

    ``prefix``: a path prefix a reverse proxy strips before forwarding (used in every
    link unless the proxy sends ``X-Forwarded-Prefix``). ``api_path``: where the
    control API lives, relative to the site root (the buttons and some feeds call it).
    """
    links = Links(prefix=prefix, api_path=api_path)
    d = _Dashboard(source, links)
    routes: list[BaseRoute] = [
        Route("/", d.overview_page, methods=["GET"], name="overview"),
        Route("/models", d.models_page, methods=["GET"]),
        Route("/models/{model}", d.model_page, methods=["GET"]),
        Route("/models/{model}/drift", d.drift_page, methods=["GET"]),
        Route("/rollouts", d.rollouts_page, methods=["GET"]),
        Route("/rollouts/{rollout_id:int}", d.rollout_page, methods=["GET"]),
        Route("/drift", d.drift_index_page, methods=["GET"]),
        Route("/alerts", d.alerts_page, methods=["GET"]),
        Route("/feeds/overview", d.overview_feed, methods=["GET"]),
        Route("/feeds/models", d.models_feed, methods=["GET"]),
        Route("/feeds/models/{model}", d.model_feed, methods=["GET"]),
        Route("/feeds/models/{model}/drift", d.drift_feed, methods=["GET"]),
        Route("/feeds/rollouts/{rollout_id:int}/series", d.series_feed, methods=["GET"]),
        Route("/feeds/drift", d.drift_index_feed, methods=["GET"]),
        Route("/feeds/drift/reports/{report_id:int}", d.report_feed, methods=["GET"]),
        Route(
            "/feeds/drift/reports/{report_id:int}/distribution",
            d.distribution_feed,
            methods=["GET"],
        ),
        Route("/feeds/alerts", d.alerts_feed, methods=["GET"]),
        Route("/static/vendor/{name}", d.vendor, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
    )
    app.state.source = source
    app.state.links = links
    return app


class _Dashboard:
    def __init__(self, source: DashboardSource, links: Links) -> None:
        self.source = source
        self.links = links

    # -- pages --------------------------------------------------------------------------

    async def overview_page(self, request: Request) -> Response:
        return self._page(request, "overview", "Overview", {})

    async def models_page(self, request: Request) -> Response:
        return self._page(request, "models", "Models", {})

    async def model_page(self, request: Request) -> Response:
        model = request.path_params["model"]
        return self._page(request, "model", f"Model {model}", {"model": model})

    async def drift_index_page(self, request: Request) -> Response:
        return self._page(request, "drift-index", "Drift", {})

    async def drift_page(self, request: Request) -> Response:
        model = request.path_params["model"]
        params = {"model": model, "version": request.query_params.get("version")}
        return self._page(request, "drift", f"Drift of {model}", params)

    async def rollouts_page(self, request: Request) -> Response:
        return self._page(request, "rollouts", "Rollouts", {})

    async def rollout_page(self, request: Request) -> Response:
        rollout_id = int(request.path_params["rollout_id"])

        def read() -> dict[str, Any] | None:
            from router.controller.store import rollout_document

            with self.source.sessions() as session:
                row = session.get(Rollout, rollout_id)
                return None if row is None else rollout_document(row, now=self.source.clock())

        doc = await self._read(read)
        if doc is None:
            return self._page(
                request,
                "missing",
                f"Rollout #{rollout_id}",
                {"what": f"There is no rollout #{rollout_id}."},
                status=404,
            )
        title = f"Rollout #{rollout_id} · {doc['model']}"
        return self._page(request, "rollout", title, {"id": rollout_id, "rollout": doc})

    async def alerts_page(self, request: Request) -> Response:
        return self._page(request, "alerts", "Alerts", {})

    def _page(
        self,
        request: Request,
        kind: str,
        title: str,
        params: dict[str, Any],
        *,
        status: int = 200,
    ) -> Response:
        urls = self.links.for_request(request)
        body = pages.render(kind, title, urls, params)
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})

    # -- feeds --------------------------------------------------------------------------

    async def overview_feed(self, request: Request) -> Response:
        def read() -> dict[str, Any]:
            from router.controller.store import rollout_document

            now = self.source.clock()
            with self.source.sessions() as session:
                active = [
                    rollout_document(r, now=now)
                    for r in session.query(Rollout)
                    .filter(Rollout.phase.not_in(TERMINAL_ROLLOUT_PHASES))
                    .order_by(Rollout.id.desc())
                ]
                finished = [
                    rollout_document(r, now=now)
                    for r in session.query(Rollout)
                    .filter(Rollout.phase.in_(TERMINAL_ROLLOUT_PHASES))
                    .order_by(Rollout.id.desc())
                    .limit(10)
                ]
                alerts = open_alert_count(session)
                drift = drift_models(session)
            models = None
            registry_error = None
            if self.source.registry is not None:
                try:
                    models = len(self._registry_models())
                except RegistryError as exc:
                    registry_error = _line(exc)
            return {
                "now": now,
                "active": [_slim(d) for d in active],
                "finished": [_slim(d) for d in finished],
                "open_alerts": alerts,
                "drift": drift,
                "models": models,
                "registry_error": registry_error,
            }

        return await self._feed(read)

    async def models_feed(self, request: Request) -> Response:
        def read() -> dict[str, Any]:
            return {"models": self._registry_models()}

        return await self._feed(read)

    async def model_feed(self, request: Request) -> Response:
        model = request.path_params["model"]
        registry = self._registry()

        def read() -> dict[str, Any]:
            return self.source.cache.get(
                ("model", model),
                lambda: model_detail(
                    registry, self.source.sessions, model, profile_of=self._profile
                ),
            )

        return await self._feed(read)

    async def series_feed(self, request: Request) -> Response:
        rollout_id = int(request.path_params["rollout_id"])
        range_s = _float_param(request, "range_s", low=10, high=7 * 86400)

        def read() -> dict[str, Any]:
            now = self.source.clock()

            def compute() -> dict[str, Any]:
                with self.source.sessions() as session:
                    row = session.get(Rollout, rollout_id)
                    if row is None:
                        raise FeedError(404, f"no rollout #{rollout_id}")
                    return rollout_series(session, row, now=now, range_s=range_s)

            # Many viewers of one rollout share one read per half second.
            return self.source.cache.get(("series", rollout_id, range_s), compute, ttl_s=0.5)

        return await self._feed(read)

    async def drift_index_feed(self, request: Request) -> Response:
        def read() -> dict[str, Any]:
            with self.source.sessions() as session:
                return {"models": drift_models(session)}

        return await self._feed(read)

    async def drift_feed(self, request: Request) -> Response:
        model = request.path_params["model"]
        version = request.query_params.get("version") or None
        limit = int(_float_param(request, "limit", low=1, high=500) or 48)

        def read() -> dict[str, Any]:
            with self.source.sessions() as session:
                doc = drift_overview(session, model, version, limit=limit)
            for w in doc["windows"]:
                w["report_url"] = self.links.report_path(w["id"])
            return doc

        return await self._feed(read)

    async def report_feed(self, request: Request) -> Response:
        report_id = int(request.path_params["report_id"])

        def read() -> dict[str, Any]:
            with self.source.sessions() as session:
                report = report_by_id(session, report_id)
            if report is None:
                raise FeedError(404, f"no drift report #{report_id}")
            doc = report_detail(report)
            doc["report_url"] = self.links.report_path(report_id)
            return doc

        return await self._feed(read)

    async def distribution_feed(self, request: Request) -> Response:
        report_id = int(request.path_params["report_id"])
        feature = request.query_params.get("feature")
        if not feature:
            raise HTTPException(400, "feature= is required")

        def read() -> dict[str, Any]:
            with self.source.sessions() as session:
                report = report_by_id(session, report_id)
                if report is None:
                    raise FeedError(404, f"no drift report #{report_id}")
                notes: list[str] = []
                profile = None
                try:
                    profile = self._profile(report.model, report.version)
                except Exception as exc:  # no registry, MLflow down, unreadable profile
                    notes.append(f"reference profile unavailable: {_line(exc)}")
                doc = feature_distribution(session, report, feature, profile)
            doc["notes"] = notes + doc["notes"]
            doc["report_url"] = self.links.report_path(report_id)
            return doc

        return await self._feed(read)

    async def alerts_feed(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(STATUSES)}")
        model = request.query_params.get("model") or None
        limit = int(_float_param(request, "limit", low=1, high=1000) or 100)

        def read() -> dict[str, Any]:
            with self.source.sessions() as session:
                return alerts_list(session, status=status, model=model, limit=limit)

        return await self._feed(read)

    async def vendor(self, request: Request) -> Response:
        found = plotly_file(request.path_params["name"])
        if found is None:
            raise HTTPException(404, "not found")
        path, media_type = found
        return FileResponse(
            path, media_type=media_type, headers={"cache-control": "public, max-age=86400"}
        )

    # -- helpers ------------------------------------------------------------------------

    def _registry(self) -> Any:
        if self.source.registry is None:
            raise FeedError(503, "this dashboard was started without a model registry")
        return self.source.registry

    def _registry_models(self) -> list[dict[str, Any]]:
        registry = self._registry()

        def compute() -> list[dict[str, Any]]:
            with self.source.sessions() as session:
                return models_overview(registry, session)

        return self.source.cache.get("models", compute)

    def _profile(self, model: str, version: str) -> ReferenceProfile | None:
        registry = self._registry()
        return self.source.profiles.get(
            ("profile", model, version),
            lambda: parse_profile(registry.reference_profile(model, version)),
        )

    async def _read(self, fn: Callable[[], Any]) -> Any:
        try:
            return await run_in_threadpool(fn)
        except SQLAlchemyError as exc:
            raise FeedError(503, f"the control DB cannot be read: {_line(exc)}") from None

    async def _feed(self, fn: Callable[[], Any]) -> Response:
        try:
            doc = await self._read(fn)
        except FeedError as exc:
            return _json({"error": exc.detail}, exc.status)
        except NotFound as exc:
            return _json({"error": _line(exc)}, 404)
        except RegistryError as exc:
            return _json({"error": f"registry: {_line(exc)}"}, 503)
        return _json(doc)


def _slim(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    steps = spec.get("steps") or []
    return {k: v for k, v in doc.items() if k != "spec"} | {"steps": len(steps)}


def _json(doc: Any, status: int = 200) -> Response:
    # orjson writes NaN and infinities as null: JSON has neither.
    body = orjson.dumps(doc, default=str)
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def _float_param(request: Request, name: str, *, low: float, high: float) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise HTTPException(400, f"{name} must be a number") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name} must be between {low:g} and {high:g}")
    return value


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
        urls = request.app.state.links.for_request(request)
        return HTMLResponse(pages.not_found(urls), status_code=404)
    # The same shape as the API's unknown paths, so clients cannot tell who answered.
    detail = "Not Found" if exc.status_code == 404 else exc.detail
    return JSONResponse({"detail": detail}, status_code=exc.status_code)
