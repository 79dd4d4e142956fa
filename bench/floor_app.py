"""The floor for bench/cpu_per_call.py: one API call that does one `UPDATE ... RETURNING`.

    .venv/bin/python bench/floor_app.py --port P   (BPMN_DATABASE_URL, BPMN_DATABASE_SCHEMA)

A FastAPI app with one sync endpoint, `POST /floor/{row}`, that increments a counter row of the
table `bench_floor` in one transaction and answers the new value as JSON. It runs under uvicorn
with the options `bpmn-service serve` uses (cli.serve_options()), on an engine made by the service's
own `make_engine` (same pool, pre-ping and session options), against the same database: what is
left of an API call when the work is one statement. It lives only here, never in the product.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from bpmn_service.cli import serve_options
from bpmn_service.db.connect import make_engine

ROWS = 64  # clients pick different rows, so concurrent calls do not queue on one row lock


def create_app() -> FastAPI:
    engine = make_engine(
        os.environ["BPMN_DATABASE_URL"], schema=os.environ.get("BPMN_DATABASE_SCHEMA") or None
    )
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS bench_floor (id integer PRIMARY KEY, n bigint)")
        )
        conn.execute(text("DELETE FROM bench_floor"))
        conn.execute(
            text("INSERT INTO bench_floor (id, n) VALUES (:id, 0)"),
            [{"id": i} for i in range(ROWS)],
        )
    bump = text("UPDATE bench_floor SET n = n + 1 WHERE id = :id RETURNING n")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/floor/{row}")
    def floor(row: int) -> dict[str, Any]:
        with engine.begin() as conn:
            n = conn.execute(bump, {"id": row % ROWS}).scalar_one()
        return {"row": row, "n": n}

    @app.get("/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "floor_app:create_app", factory=True, host=args.host, port=args.port, **serve_options()
    )


if __name__ == "__main__":
    main()
