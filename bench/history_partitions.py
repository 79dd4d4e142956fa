"""Would partitioning the history by month help? The same history twice, plain and partitioned.

Two copies of the `history_event` table (the service's columns and index) are filled with the
same synthetic history in a new PostgreSQL schema (dropped after): one plain table, one
partitioned by month of `occurred_at` (the plain one gets a BRIN index on `occurred_at`, what a
plain table would use for time ranges). Then the statements that touch history are timed on both,
taking turns:

- **case history**: one application's events in order (`GET /process-instances/{id}`, the
  supervisor's view, and the doctor read this),
- **case history, month known**: the same with the application's start as a lower bound, which
  lets PostgreSQL skip older partitions,
- **a month's activity**: events per type over one month (an analyst's question),
- **writing**: one application's events (137, the figure `bench/footprint.py` measures) per
  transaction,
- **retention**: removing the oldest month (`DELETE` against dropping a partition), once.

    .venv/bin/python bench/history_partitions.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/history_partitions.py --database-url ... --applications 200000

Applications start evenly over `--months` months; each has `--events` events over the 40 days
after its start (an application's median lead time is well under that).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, create_engine, text

FIRST_MONTH = datetime(2025, 1, 1, tzinfo=UTC)
SPREAD_DAYS = 40
COLUMNS = """
    id bigint NOT NULL,
    instance_id varchar(36) NOT NULL,
    task_id varchar(36),
    element_id varchar(255),
    type varchar(32) NOT NULL,
    actor varchar(128),
    occurred_at timestamptz NOT NULL,
    details jsonb NOT NULL
"""
# A payload of the size the service writes (about 240 bytes per row with the other columns).
DETAILS = """jsonb_build_object('from', 'A-GW' || (j % 7), 'to', 'A-UT' || (j % 19),
    'values', jsonb_build_object('docsComplete', j % 2 = 0, 'remark', repeat('审', 12)))"""


def month_start(index: int) -> datetime:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return FIRST_MONTH.replace(year=FIRST_MONTH.year + year, month=month + 1)


def create_tables(conn: Connection, months: int) -> None:
    conn.execute(text(f"CREATE TABLE history_plain ({COLUMNS}, PRIMARY KEY (id))"))
    conn.execute(text("CREATE INDEX ON history_plain (instance_id, id)"))
    # What a plain table would use for time ranges instead of partitions: history is appended
    # in time order, so a BRIN index of a few pages covers it.
    conn.execute(text("CREATE INDEX ON history_plain USING brin (occurred_at)"))
    # A partitioned table's primary key must contain the partition key.
    conn.execute(
        text(
            f"CREATE TABLE history_part ({COLUMNS}, PRIMARY KEY (id, occurred_at)) "
            "PARTITION BY RANGE (occurred_at)"
        )
    )
    conn.execute(text("CREATE INDEX ON history_part (instance_id, id)"))
    # One month more than the starts cover: the last applications' events run into it, and two.
    for index in range(months + 3):
        low, high = month_start(index), month_start(index + 1)
        conn.execute(
            text(
                f"CREATE TABLE history_part_{index:03d} PARTITION OF history_part "
                f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
            )
        )


def fill(conn: Connection, applications: int, events: int, months: int) -> None:
    span_seconds = (month_start(months) - FIRST_MONTH).total_seconds()
    statement = f"""
        INSERT INTO history_plain
        SELECT (i - 1) * {events} + j, md5(i::text)::uuid::text,
               CASE WHEN j % 3 = 0 THEN md5((i * 1000 + j)::text)::uuid::text END,
               'A-UT' || (j % 19),
               (ARRAY['engine_step', 'task_created', 'task_claimed', 'task_completed'])[1 + j % 4],
               'clerk', start + (j::float / {events}) * interval '{SPREAD_DAYS} days', {DETAILS}
        FROM generate_series(1, :applications) i,
             LATERAL (SELECT timestamptz '{FIRST_MONTH.isoformat()}'
                      + (i::float / :applications) * {span_seconds} * interval '1 second'
                      AS start) s,
             generate_series(1, {events}) j
    """
    conn.execute(text(statement), {"applications": applications})
    conn.execute(text("INSERT INTO history_part SELECT * FROM history_plain"))
    conn.execute(text("ANALYZE history_plain"))
    conn.execute(text("ANALYZE history_part"))


def instance_of(i: int) -> str:
    """The id the fill gave application i (`md5(i::text)::uuid`)."""
    return str(uuid.UUID(hashlib.md5(str(i).encode()).hexdigest()))


def timed(conn: Connection, statement: str, params: dict[str, object]) -> float:
    started = time.perf_counter()
    conn.execute(text(statement), params).fetchall()
    return 1000 * (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL")
    parser.add_argument("--applications", type=int, default=40_000)
    parser.add_argument("--events", type=int, default=137, help="history events per application")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per statement")
    args = parser.parse_args()

    url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    rng = random.Random(7)
    results: dict[tuple[str, str], list[float]] = {}
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'SET search_path TO "{schema}"'))
        conn.commit()
        try:
            started = time.monotonic()
            create_tables(conn, args.months)
            fill(conn, args.applications, args.events, args.months)
            conn.commit()
            rows = args.applications * args.events
            print(
                f"{rows:,} rows ({args.applications:,} applications × {args.events}) over "
                f"{args.months} months, built in {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
            sizes = {
                name: int(
                    conn.execute(
                        text(
                            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = :schema AND c.relname LIKE :pattern "
                            "AND c.relkind IN ('r', 'p')"
                        ),
                        {"schema": schema, "pattern": f"{name}%"},
                    ).scalar_one()
                )
                for name in ("history_plain", "history_part")
            }
            span = (month_start(args.months) - FIRST_MONTH).total_seconds()

            def case(table: str, bounded: bool) -> Callable[[], float]:
                def call() -> float:
                    i = rng.randint(1, args.applications)
                    start = FIRST_MONTH + timedelta(seconds=i / args.applications * span)
                    where = "instance_id = :id"
                    if bounded:
                        where += " AND occurred_at >= :start"
                    return timed(
                        conn,
                        f"SELECT * FROM {table} WHERE {where} ORDER BY id",
                        {"id": instance_of(i), "start": start},
                    )

                return call

            def month(table: str) -> Callable[[], float]:
                def call() -> float:
                    index = rng.randrange(args.months)
                    return timed(
                        conn,
                        f"SELECT type, count(*) FROM {table} WHERE occurred_at >= :low "
                        "AND occurred_at < :high GROUP BY type",
                        {"low": month_start(index), "high": month_start(index + 1)},
                    )

                return call

            next_id = [args.applications * args.events + 1]

            def write(table: str) -> Callable[[], float]:
                def call() -> float:
                    first = next_id[0]
                    next_id[0] += args.events
                    at = month_start(args.months - 1) + timedelta(days=rng.randrange(25))
                    started = time.perf_counter()
                    conn.execute(
                        text(
                            f"INSERT INTO {table} SELECT :first + j, :id, NULL, 'A-UT1', "
                            f"'engine_step', 'clerk', :at, {DETAILS} "
                            f"FROM generate_series(0, {args.events - 1}) j"
                        ),
                        {"first": first, "id": str(uuid.uuid4()), "at": at},
                    )
                    conn.commit()
                    return 1000 * (time.perf_counter() - started)

                return call

            measures: dict[tuple[str, str], Callable[[], float]] = {}
            for table in ("history_plain", "history_part"):
                measures[("case history", table)] = case(table, bounded=False)
                measures[("case history, month known", table)] = case(table, bounded=True)
                measures[("a month's activity", table)] = month(table)
                measures[("writing one application", table)] = write(table)
            month_rounds = max(5, args.rounds // 20)
            for round_ in range(args.rounds):
                for key, call in measures.items():
                    if key[0] == "a month's activity" and round_ >= month_rounds:
                        continue
                    results.setdefault(key, []).append(call())
                conn.rollback()

            # Retention: the oldest month, once on each table.
            high = month_start(1)
            started = time.perf_counter()
            conn.execute(
                text("DELETE FROM history_plain WHERE occurred_at < :high"), {"high": high}
            )
            conn.commit()
            results[("retention: oldest month", "history_plain")] = [
                1000 * (time.perf_counter() - started)
            ]
            started = time.perf_counter()
            conn.execute(text("ALTER TABLE history_part DETACH PARTITION history_part_000"))
            conn.execute(text("DROP TABLE history_part_000"))
            conn.commit()
            results[("retention: oldest month", "history_part")] = [
                1000 * (time.perf_counter() - started)
            ]
        finally:
            conn.rollback()
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.commit()
    engine.dispose()

    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(
        f"size with indexes: plain {sizes['history_plain'] / 2**20:,.0f} MiB, "
        f"partitioned {sizes['history_part'] / 2**20:,.0f} MiB"
    )
    print()
    print("| statement | plain p50 / p95 ms | partitioned p50 / p95 ms | p95 ratio |")
    print("|---|---:|---:|---:|")
    names = dict.fromkeys(key[0] for key in results)
    for name in names:
        cells = []
        p95 = []
        for table in ("history_plain", "history_part"):
            values = sorted(results[(name, table)])
            p50 = statistics.median(values)
            high = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
            p95.append(high)
            cells.append(f"{p50:,.1f} / {high:,.1f}" if len(values) > 1 else f"{p50:,.0f}")
        print(f"| {name} | {cells[0]} | {cells[1]} | {p95[1] / p95[0]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
