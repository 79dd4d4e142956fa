"""Run SpiffWorkflow's own BPMN test suite against the service's engine classes.

    .venv/bin/python tests/upstream/run.py [--tests DIR] [--stock] [pytest options]

The suite is not part of SpiffWorkflow's wheel. With --tests (or SPIFF_UPSTREAM_TESTS) it is
taken from a directory that holds SpiffWorkflow's `tests/` folder (a checkout of the release the
service pins); otherwise it is looked for in the pinned release's source distribution on PyPI
(`pip download --no-binary :all: --no-deps SpiffWorkflow==<pinned>`). When neither has it, that
is said and nothing is run (exit 0): SpiffWorkflow 3.2.0's source distribution ships no tests.
--stock runs the suite on SpiffWorkflow alone (the baseline that known_failures.toml is read
against). The suite runs in a copy, so the directory given is never written to.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bpmn_service.engine.upstream import PINNED_VERSION  # noqa: E402

SUITE = Path("tests") / "SpiffWorkflow" / "bpmn"


def _from_sdist(workdir: Path) -> Path | None:
    download = workdir / "sdist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--dest",
            str(download),
            f"SpiffWorkflow=={PINNED_VERSION}",
        ],
        check=True,
    )
    for archive in download.glob("*.tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(workdir / "unpacked", filter="data")
    for candidate in (workdir / "unpacked").glob("*"):
        if (candidate / SUITE).is_dir():
            return candidate
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=Path, default=os.environ.get("SPIFF_UPSTREAM_TESTS"))
    parser.add_argument("--stock", action="store_true", help="SpiffWorkflow alone (baseline)")
    args, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="spiff-upstream-") as tmp:
        workdir = Path(tmp)
        source = Path(args.tests) if args.tests else _from_sdist(workdir)
        if source is None or not (source / SUITE).is_dir():
            where = args.tests or f"the SpiffWorkflow {PINNED_VERSION} source distribution"
            sys.stdout.write(f"upstream suite: no {SUITE} in {where}; not run\n")
            return 0
        # Only the tests are copied: a SpiffWorkflow/ folder beside them must not shadow the
        # installed, pinned package.
        shutil.copytree(source / "tests", workdir / "suite" / "tests")
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(SUITE),
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            "--rootdir",
            str(workdir / "suite"),
            "-o",
            "python_files=*Test.py test_*.py",
        ]
        env = dict(os.environ)
        if not args.stock:
            command += ["-p", "upstream_plugin"]
            env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT / "src")])
        return subprocess.run(command + pytest_args, cwd=workdir / "suite", env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
