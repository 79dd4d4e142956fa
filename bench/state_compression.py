"""PostgreSQL's time to write and read a stored state, compressed with pglz and with lz4.

    .venv/bin/python bench/state_compression.py --database-url postgresql://postgres@127.0.0.1:5432/test

Takes the states of bench/state_dump.py (bench/lifecycle12.bpmn after its start and after 4 and 8
completions; yekuo_current's HV_D_all_loops after 10, 35 and 60 steps) and, for each compression
method, a table of its own in a new schema (dropped after) holding one row, as process_instance
holds an instance: `--repeat` UPDATEs that write the state (one character changed each time, so
every write compresses anew) and as many SELECTs that read it back, over one connection in
autocommit, as a completion writes and the next call reads. Reported: the median of `--rounds`
rounds (the methods take turns within each round) of the wall time per statement, which is
mostly PostgreSQL's work, and the stored size (pg_column_size). Migration 0013 moves the
service's state and variables columns to lz4 where the server has it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from state_dump import _lifecycle_states, _shipped_states

METHODS = ("pglz", "lz4")


def _timed(conn: psycopg.Connection, table: str, state: str, repeat: int) -> tuple[float, float]:
    """Seconds per UPDATE and per SELECT of the one row."""
    # each write differs (a marker at the start of the text), as each completion's state does
    variants = [f'{{"w": {i % 10}, ' + state[1:] for i in range(repeat)]
    began = time.perf_counter()
    for text in variants:
        conn.execute(f"UPDATE {table} SET state = %s, v = v + 1 WHERE id = 1", (text,))
    write = (time.perf_counter() - began) / repeat
    began = time.perf_counter()
    for _ in range(repeat):
        conn.execute(f"SELECT state FROM {table} WHERE id = 1").fetchone()
    return write, (time.perf_counter() - began) / repeat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql://user@host:port/db")
    parser.add_argument("--repeat", type=int, default=300, help="statements per method and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        has_lz4 = conn.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).fetchone()
        if not has_lz4 or not has_lz4[0]:
            raise SystemExit("this PostgreSQL has no lz4 (14 and later, when built with it)")
        version = conn.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'}; {args.repeat} statements per method")
        print("and round, median of", args.rounds, "rounds\n")
        columns = "pglz: stored, write, read | lz4: stored, write, read | lz4 ÷ pglz, write"
        print(f"| state | text | {columns} |")
        print("|---|---:|---:|---:|---:|")
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            for method in METHODS:
                conn.execute(
                    f'CREATE TABLE "{schema}".{method} '
                    f"(id integer PRIMARY KEY, state text COMPRESSION {method}, v integer)"
                )
            for label, _spec, state in [*_lifecycle_states(), *_shipped_states()]:
                writes: dict[str, list[float]] = {m: [] for m in METHODS}
                reads: dict[str, list[float]] = {m: [] for m in METHODS}
                sizes: dict[str, int] = {}
                for method in METHODS:
                    table = f'"{schema}".{method}'
                    conn.execute(f"DELETE FROM {table}")
                    conn.execute(f"INSERT INTO {table} VALUES (1, %s, 0)", (state,))
                for _ in range(args.rounds):
                    for method in METHODS:
                        write, read = _timed(conn, f'"{schema}".{method}', state, args.repeat)
                        writes[method].append(write)
                        reads[method].append(read)
                for method in METHODS:
                    row = conn.execute(
                        f'SELECT pg_column_size(state) FROM "{schema}".{method}'
                    ).fetchone()
                    sizes[method] = row[0] if row else 0
                w = {m: statistics.median(writes[m]) for m in METHODS}
                r = {m: statistics.median(reads[m]) for m in METHODS}
                cells = [
                    f"{sizes[m]:,} B, {1e3 * w[m]:.3f} ms, {1e3 * r[m]:.3f} ms" for m in METHODS
                ]
                print(
                    f"| {label} | {len(state):,} B | {cells[0]} | {cells[1]} | "
                    f"{w['lz4'] / w['pglz']:.2f} |"
                )
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
