"""How long the expression evaluator takes to refuse each hostile expression, and how much memory
the process grows meanwhile (tests/engine/test_bounded_evaluation.py holds the same cases and
checks that each is refused; timings belong here, not in tests).

    .venv/bin/python bench/bounded_refusals.py [--repeat 5]

Prints, per expression, the slowest of --repeat refusals (wall seconds) and the peak resident set
growth over the whole run. Unbounded, these took from seconds (round(1, -10**7): 7 s) to hours or
gigabytes (join, replace, %-formatting, repetition of a large list).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT / "tests" / "engine"))

from test_bounded_evaluation import HOSTILE  # noqa: E402

from bpmn_service.engine.expressions import ExpressionError, ExpressionEvaluator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    evaluator = ExpressionEvaluator()
    variables = {"big": "x" * 60_000, "l": [0] * 99_999}
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    slowest_all = 0.0
    not_refused = 0
    for text, reason in HOSTILE:
        slowest = 0.0
        for _ in range(args.repeat):
            began = time.perf_counter()
            try:
                evaluator.evaluate(text, variables)
                not_refused += 1
            except ExpressionError:
                pass
            slowest = max(slowest, time.perf_counter() - began)
        slowest_all = max(slowest_all, slowest)
        shown = text if len(text) <= 48 else text[:45] + "..."
        print(f"{slowest:8.3f} s  {shown:50}  {reason}")
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_rss) / 1024
    print(
        f"slowest refusal {slowest_all:.3f} s; peak RSS growth {grown:.0f} MB; "
        f"not refused: {not_refused}"
    )
    return 1 if not_refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
