# syntax=docker/dockerfile:1
#
# bpmn-service production image.
#
#   docker build -t bpmn-service .
#
# Production mode (the default here) refuses to start with the demo tokens of config/users.toml, so
# mount your own users file (token_sha256 entries recommended) and point BPMN_USERS_FILE at it:
#
#   docker run -p 8000:8000 \
#     -v /srv/bpmn/users.toml:/run/secrets/bpmn-users.toml:ro \
#     -e BPMN_USERS_FILE=/run/secrets/bpmn-users.toml \
#     -e BPMN_DATABASE_URL=postgresql://bpmn:secret@db:5432/bpmn \
#     bpmn-service
#
# Without BPMN_DATABASE_URL the service uses SQLite in /app/var (mount a volume there). To try the
# image with the demo users: -e BPMN_MODE=development. Migrations are applied and processes/ is
# deployed by `bpmn-service serve` at start-up (several containers on one PostgreSQL take turns).
# To ship changed processes without rebuilding, mount a directory over /app/processes.

ARG PYTHON_IMAGE=python:3.11-slim

# --- ui: the web workspace, built from ui/ with its lockfile (served at /ui, Swagger UI at /docs) ---
FROM node:20-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ui/.npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY ui ./
RUN mkdir -p /src/src/bpmn_service && npm run build

# --- build: install the project (not editable) and its dependencies into a virtualenv -------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# The dependencies come from the lock file, pinned and hash-checked (make lock regenerates it);
# then the project itself without resolving anything again. README.md is the package's readme
# (pyproject.toml); the migrations ship inside src/ as package data.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY --from=ui /src/src/bpmn_service/webui ./src/bpmn_service/webui
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/bpmn-service --help >/dev/null

# --- runtime ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="bpmn-service" \
      org.opencontainers.image.description="BPMN 2.0 workflow REST service (业扩报装)"

RUN groupadd --system --gid 10001 bpmn \
 && useradd --system --uid 10001 --gid bpmn --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin bpmn

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY processes ./processes
COPY config ./config
RUN mkdir -p /app/var && chown bpmn:bpmn /app/var

# Every setting is a BPMN_* environment variable (see README.md, "Configuration"); the defaults
# that are relative paths (config/..., processes) resolve against WORKDIR /app.
#   BPMN_DATABASE_URL       sqlite:////app/var/bpmn.db (default here) or postgresql://user:pw@host:5432/db
#   BPMN_DATABASE_SCHEMA    PostgreSQL schema to use (must exist); default: the server's search_path
#   BPMN_USERS_FILE         users, bearer tokens and groups; production refuses the shipped demo file
#   BPMN_MODE               production (default here) | development (accepts the demo tokens)
#   BPMN_PROCESSES_DIR      BPMN files deployed at start-up (unchanged files are skipped)
#   BPMN_LANE_GROUPS_FILE   lane name -> groups; default <processes dir>/lane-groups.toml
#   BPMN_REGISTRY_FILE      licensed construction units (三不指定 recommendations)
#   BPMN_DEPLOY_ON_START    true | false
#   BPMN_MIGRATE_ON_START   true | false (then run `bpmn-service migrate` before starting)
#   BPMN_MAX_UPLOAD_BYTES, BPMN_MAX_BODY_BYTES, BPMN_LOG_LEVEL (JSON access log lines at INFO)
#   BPMN_METRICS_TOKEN      bearer token for GET /metrics (without it: loopback scrapes only)
#   BPMN_CORS_ORIGINS       origins browsers may call the API from (web modeler, tasklist)
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BPMN_MODE=production \
    BPMN_DATABASE_URL=sqlite:////app/var/bpmn.db \
    BPMN_USERS_FILE=/app/config/users.toml \
    BPMN_PROCESSES_DIR=/app/processes \
    BPMN_REGISTRY_FILE=/app/config/construction-units.toml \
    BPMN_LOG_LEVEL=INFO

VOLUME ["/app/var"]
USER bpmn:bpmn
EXPOSE 8000

# Ready = the database answers and its schema is current (503 otherwise); no curl in the slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health/ready', timeout=4).status == 200 else 1)"]

# uvicorn handles SIGTERM: running requests get up to 30 s to finish.
CMD ["bpmn-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
