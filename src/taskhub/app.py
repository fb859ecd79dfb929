"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from taskhub import __version__
from taskhub.activity.router import router as activity_router
from taskhub.admin import mount_admin
from taskhub.auth.deactivation import Deactivations
from taskhub.auth.deps import authenticate, credential_of
from taskhub.auth.passwords import PasswordHasher
from taskhub.auth.pats_router import router as tokens_router
from taskhub.auth.router import router as auth_router
from taskhub.auth.tokens import AccessTokenVerifier
from taskhub.comments.router import router as comments_router
from taskhub.db import Database
from taskhub.events.broker import open_broker
from taskhub.events.router import router as events_router
from taskhub.events.streams import Memberships, StreamLimit
from taskhub.http.errors import install_error_handlers
from taskhub.idempotency.middleware import IdempotencyMiddleware
from taskhub.idempotency.openapi import with_idempotency
from taskhub.jobs.backend import start_jobs
from taskhub.kv.memory_cache import InMemoryCache
from taskhub.kv.redis_cache import RedisCache
from taskhub.kv.redis_client import GuardedRedis
from taskhub.limits.memory import InMemoryRateLimiter
from taskhub.limits.redis import RedisRateLimiter
from taskhub.ops.health import router as health_router
from taskhub.ops.logging import configure_logging, get_logger
from taskhub.ops.metrics import LoopLagMonitor
from taskhub.ops.metrics import router as metrics_router
from taskhub.ops.middleware import (
    AuthenticateFirst,
    BodyLimitMiddleware,
    RequestContextMiddleware,
)
from taskhub.projects.router import router as projects_router
from taskhub.routing import ANONYMOUS_PATHS, API_PREFIX
from taskhub.search import semantic
from taskhub.search.ask import LanguageModel
from taskhub.search.embedders import make_embedder
from taskhub.search.router import router as search_router
from taskhub.search.semantic_router import router as semantic_router
from taskhub.settings import Settings, load_settings, secret_of
from taskhub.tasks.cache import TaskCache
from taskhub.tasks.router import router as tasks_router
from taskhub.transfer.router import IMPORT_PATH
from taskhub.transfer.router import router as transfer_router
from taskhub.web import install_web
from taskhub.webdocs import install_docs
from taskhub.webhooks.router import router as webhooks_router
from taskhub.wiring import job_registry

log = get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database.open(settings)
        redis = open_shared_state(app, settings)
        await app.state.deactivations.start(
            app.state.db, redis, single_process=settings.local_cache
        )
        # Semantic search loads its model in the background: requests are answered
        # meanwhile (search from text alone, the semantic routes 409).
        app.state.semantic = semantic.Semantic(make_embedder(settings), app.state.db)
        app.state.vector_ranking = app.state.semantic.rank
        app.state.llm = LanguageModel.from_settings(settings)
        semantic.install(app.state.semantic)
        app.state.semantic.start()
        app.state.events = open_broker(settings.redis_url)
        app.state.memberships = Memberships(app.state.db, settings.events_roles_ttl_seconds)
        await app.state.events.start()
        app.state.jobs = start_jobs(
            settings, app.state.db, job_registry(settings, app.state.events)
        )
        semantic.queue_text_jobs(app.state.db, settings.embeddings != "off")
        loop_lag = LoopLagMonitor()
        loop_lag.start()
        log.info("started", database=app.state.db.engine.dialect.name, jobs=app.state.jobs.mode)
        try:
            yield
        finally:
            await loop_lag.stop()
            await app.state.jobs.stop()
            semantic.uninstall(app.state.semantic)
            await app.state.semantic.aclose()
            if app.state.llm is not None:
                await app.state.llm.aclose()
            await app.state.events.stop()
            await app.state.db.close()
            if redis is not None:
                await redis.aclose()
            log.info("stopped")

    app = FastAPI(
        title="taskhub",
        version=__version__,
        description="Self-hostable multi-user task service.",
        lifespan=lifespan,
        docs_url=None,  # webdocs serves /docs and /redoc without a CDN
        redoc_url=None,
        # No OpenTelemetry here; left on, FastAPI asks the OTel API on every request
        # whether a provider was configured (a lookup that reads os.environ).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.limiter = InMemoryRateLimiter()
    app.state.cache = InMemoryCache()
    app.state.task_cache = TaskCache(app.state.cache, enabled=settings.local_cache)
    app.state.redis = None
    app.state.verifier = AccessTokenVerifier(secret_of(settings))
    app.state.hasher = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    app.state.deactivations = Deactivations()
    app.state.event_streams = StreamLimit(settings.events_max_streams_per_user)

    install_error_handlers(app)
    for router in (
        auth_router,
        tokens_router,
        tasks_router,
        activity_router,
        comments_router,
        projects_router,
        search_router,
        transfer_router,
        semantic_router,
        health_router,
        metrics_router,
        webhooks_router,
        events_router,
    ):
        app.include_router(router)
    install_docs(app)
    mount_admin(app, settings)
    install_web(app)

    app.openapi = with_idempotency(app.openapi, API_PREFIX, ANONYMOUS_PATHS)  # type: ignore[method-assign]

    # Each add_middleware wraps the ones before it, so the last added runs first on the
    # way in: request id and headers, then CORS (pre-flights need no credentials, and a
    # browser must be able to read a 401 or 413), then authentication, before any body;
    # idempotency last, on a body already bounded and checked.
    app.add_middleware(
        IdempotencyMiddleware, prefix=API_PREFIX, anonymous=ANONYMOUS_PATHS, identify=credential_of
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        limits={IMPORT_PATH: settings.max_import_bytes},
    )
    app.add_middleware(
        AuthenticateFirst, prefix=API_PREFIX, anonymous=ANONYMOUS_PATHS, authenticate=authenticate
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "X-Request-ID",
                "Idempotency-Key",
            ],
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "Idempotent-Replayed",
            ],
        )
    app.add_middleware(RequestContextMiddleware, access_log_enabled=settings.access_log)
    return app


def open_shared_state(app: FastAPI, settings: Settings) -> GuardedRedis | None:
    """Rate limits and cache: in Redis when configured (shared by every instance)."""
    if not settings.redis_url:
        app.state.limiter = InMemoryRateLimiter()
        app.state.cache = InMemoryCache()
        app.state.task_cache = TaskCache(app.state.cache, enabled=settings.local_cache)
        return None
    # Created inside the lifespan: the client belongs to the server's event loop.
    redis = GuardedRedis.from_url(settings.redis_url)
    app.state.limiter = RedisRateLimiter(redis)
    app.state.cache = RedisCache(redis)
    app.state.task_cache = TaskCache(app.state.cache)
    app.state.redis = redis
    return redis


def create_app_from_env() -> FastAPI:
    """Uvicorn factory entry point (`taskhub.app:create_app_from_env`)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def create_worker_app_from_env() -> FastAPI:
    """Uvicorn factory for `serve --workers N`: one of several processes serving the data.

    An in-process cache would be private to each worker, which could not invalidate
    the others' copies, so without Redis it is off. (The choice travels in the factory's
    name because uvicorn starts each worker with nothing but an import string.)
    """
    settings = load_settings()
    if not settings.redis_url:
        settings = settings.model_copy(update={"local_cache": False})
    configure_logging(settings.log_level)
    return create_app(settings)
