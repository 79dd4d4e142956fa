"""The `bpmn-service` command: serve, deploy, check, layout, migrate."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bpmn_service.config import Settings
from bpmn_service.errors import InvalidBpmn

CLI_PRINCIPAL_ID = "cli"
# How `serve` runs uvicorn (the request log is the service's own, so uvicorn's access log is off);
# bench/floor_app.py serves its comparison endpoint with the same options.
SERVE_OPTIONS: dict[str, Any] = {"access_log": False, "timeout_graceful_shutdown": 30}


def serve_options() -> dict[str, Any]:
    """uvicorn's options for `serve`: SERVE_OPTIONS and the HTTP protocol with a deadline for a
    request's head (http_guard.py; imported here, so that other commands do not load uvicorn)."""
    from bpmn_service.http_guard import RequestHeadDeadline

    return {**SERVE_OPTIONS, "http": RequestHeadDeadline}


def _files(paths: Sequence[str]) -> list[Path]:
    """The files the arguments name: a file as given, a directory's *.bpmn files. A directory
    without any is a usage error (exit 2): `check` of the wrong directory must not pass."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(path.glob("*.bpmn"))
            if not inside:
                raise ValueError(f"no .bpmn files in {path}")
            found.extend(inside)
        else:
            found.append(path)
    return found


def _read(path: Path) -> bytes:
    """A named file's bytes; a missing or unreadable one is a usage error (exit 2)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _refuse_demo_tokens_in_production(settings: Settings) -> None:
    from bpmn_service.identity import UserDirectory

    if settings.mode == "production" and UserDirectory.load(settings.users_file).has_demo_tokens:
        raise ValueError(
            f"{settings.users_file} contains the shipped demo tokens, which production mode "
            "refuses; set BPMN_USERS_FILE to a file with your own tokens (token_sha256)"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings()
    _refuse_demo_tokens_in_production(settings)
    logging.basicConfig(level=settings.log_level, format="%(message)s")
    # SpiffWorkflow logs every task state change at INFO; the history table records what matters.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    # Alembic narrates every schema check (readiness probes too); its warnings are enough.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    uvicorn.run(
        "bpmn_service.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        **serve_options(),
    )
    return 0


NO_LANE_GROUPS = (
    "but no lane-groups.toml was found for this file, so no lane has groups: put one "
    "beside the file, or give --config DIR (the project, with config/ and processes/)"
)


def cmd_check(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace

    from bpmn_service.check_config import find_config
    from bpmn_service.engine import check_bpmn
    from bpmn_service.errors import BpmnProblem
    from bpmn_service.services.deployments import defined_twice
    from bpmn_service.services.limit_checks import declaration_problems
    from bpmn_service.services.scenario_drift import unknown_steps

    config = Path(args.config) if args.config else None
    if config is not None and not config.is_dir():
        print(f"{config}: --config must be a directory", file=sys.stderr)
        return 2
    files: list[dict[str, object]] = []
    findings: list[BpmnProblem] = []
    defined_in: dict[str, str] = {}  # process id -> the file that defines it
    for path in _files(args.paths):
        if not path.is_file():
            findings.append(
                BpmnProblem("no such file", str(path), code="structure.file", hint="check the path")
            )
            files.append({"file": str(path), "process": None, "valid": False})
            if args.format == "text":
                print(f"{path}: no such file", file=sys.stderr)
            continue
        try:
            setup = find_config(path, config)
            setup.register_functions()
            context = setup.context()
        except (OSError, ValueError) as exc:
            print(f"{path}: the configuration cannot be read: {exc}", file=sys.stderr)
            return 2
        data = path.read_bytes()
        process, found = check_bpmn(data, str(path), context)
        if setup.lane_groups is None:
            # The lanes are not wrong: nothing maps them here. Say so where it shows.
            found = [
                replace(f, hint=f"{f.hint}; {NO_LANE_GROUPS}") if f.code == "lanes.no-groups" else f
                for f in found
            ]
        if process is not None:
            # Declared time limits must name a row of the limit table (services/limit_checks.py).
            declared = declaration_problems(setup.time_limits(), data, process.key, str(path))
            found = [*found, *declared]
            if any(p.is_error for p in declared):
                process = None
        scenario = setup.simulation_scenario()
        if process is not None and scenario is not None:
            # As a deployment warns: steps of the what-if scenario the file no longer has.
            found = [*found, *unknown_steps(scenario, process, str(path))]
        if process is not None:
            # As a deployment of these files together would refuse it.
            if process.key in defined_in:
                found = [*found, defined_twice(process.key, str(path), defined_in[process.key])]
                process = None
            else:
                defined_in[process.key] = str(path)
        findings.extend(found)
        files.append(
            {"file": str(path), "process": process.key if process else None, "valid": bool(process)}
        )
        if args.format == "text":
            if process is not None:
                print(f"{path}: ok (process {process.key})")
            for finding in found:
                print(finding, file=sys.stderr)
    if args.format == "json":
        document = {
            "valid": all(f["valid"] for f in files),
            "files": files,
            "findings": [f.to_dict() for f in findings],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0 if all(f["valid"] for f in files) else 1


def cmd_layout(args: argparse.Namespace) -> int:
    import os

    from bpmn_service.engine import diagram_size, layout_bpmn, layout_warnings

    source = Path(args.file)
    try:
        data = source.read_bytes()
    except OSError as exc:
        print(f"{source}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        laid_out = layout_bpmn(data, str(source))
    except InvalidBpmn as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    target = Path(args.output) if args.output else source
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(laid_out)
    partial.replace(target)  # atomic: an interrupted run leaves the old file whole
    before, after = diagram_size(data, str(source)), diagram_size(laid_out, str(target))
    warnings = layout_warnings(laid_out, str(target))
    print(
        f"{target}: laid out {after.width:.0f} x {after.height:.0f} px "
        f"(was {before.width:.0f} x {before.height:.0f}), {after.shapes} shapes, "
        f"{after.edges} flows, {len(warnings)} layout warnings"
    )
    for warning in warnings:
        print(warning, file=sys.stderr)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from bpmn_service.context import AppContext
    from bpmn_service.db.migrate import upgrade
    from bpmn_service.errors import ServiceError
    from bpmn_service.identity import Principal
    from bpmn_service.services.deployments import BpmnFile, deploy

    # Every named file is read before the database is touched.
    files = [BpmnFile(str(p), _read(p)) for p in _files(args.paths)]
    ctx = AppContext.create(Settings())
    upgrade(ctx.engine)
    try:
        result = deploy(ctx, files, Principal(CLI_PRINCIPAL_ID, frozenset({"admin"})), source="cli")
    except InvalidBpmn as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except ServiceError as exc:  # too many files, a concurrent deployment
        print(f"bpmn-service: {exc.message}", file=sys.stderr)
        return 1
    for d in result.definitions:
        state = "deployed" if d.created else "unchanged"
        print(f"{d.resource_name}: {d.key} version {d.version} {state}")
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    return 0


def _version(text: str) -> tuple[str, int]:
    key, sep, version = text.rpartition(":")
    if not sep or not key or not version.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY:VERSION (e.g. yekuo_current:2)")
    return key, int(version)


def _mapping(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"{text!r} is not OLD_ELEMENT=NEW_ELEMENT")
    return old, new


def _change(change: dict[str, Any]) -> str:
    """One change of a reassigned task: `field old -> new` (a withdrawn claim: `claim by x
    withdrawn`)."""
    if change["field"] == "assignee" and change["new"] is None:
        return f"claim by {change['old']} withdrawn"

    def shown(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(map(str, value)) or "(none)"
        return "(none)" if value is None else str(value)

    return f"{change['field']} {shown(change['old'])} -> {shown(change['new'])}"


def _cli_actor() -> str:
    """`cli:<login name>` of the account running the command (`cli` when it has none)."""
    import getpass

    try:
        return f"{CLI_PRINCIPAL_ID}:{getpass.getuser()}"[:128]
    except (OSError, KeyError):  # no login name in a bare container
        return CLI_PRINCIPAL_ID


def cmd_migrate_instances(args: argparse.Namespace) -> int:
    """Migrate running instances between versions, as POST /api/v1/migrations does; prints one
    line per instance; exit status 1 when any instance could not be (or would not be) migrated."""
    import json

    from bpmn_service.context import AppContext
    from bpmn_service.errors import ServiceError
    from bpmn_service.identity import Principal
    from bpmn_service.services.migrations import migrate_instances

    ctx = AppContext.create(Settings())
    # The history names who migrated: the supervisor given, else the account that ran it.
    principal = Principal(args.by or _cli_actor(), frozenset({"admin"}))
    try:
        run = migrate_instances(
            ctx,
            principal,
            source=args.source,
            target=args.target,
            instance_ids=args.instance or None,
            business_key_like=args.business_key_like,
            mapping=dict(args.map or []),
            dry_run=not args.execute,
            reason=args.reason,
        )
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    for r in run.results:
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "instance_id": r.instance_id,
                        "business_key": r.business_key,
                        "ok": r.ok,
                        "migrated": r.migrated,
                        "mapped": r.mapped,
                        "problems": r.problems,
                        "started": r.started,
                        "dropped": r.dropped,
                        "reassigned": r.reassigned,
                        "warnings": r.warnings,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        state = "migrated" if r.migrated else ("can migrate" if r.ok else "cannot migrate")
        # Which active elements map (and where), and which cannot (the reasons follow).
        listed = []
        if r.mapped:
            listed.append(
                ("mapped " if r.migrated else "maps ")
                + ", ".join(
                    m["element_id"]
                    if m["element_id"] == m["target_element_id"]
                    else f"{m['element_id']}->{m['target_element_id']}"
                    for m in r.mapped
                )
            )
        unmapped = list(dict.fromkeys(p["element_id"] for p in r.problems if p["element_id"]))
        if unmapped:
            listed.append("cannot map " + ", ".join(unmapped))
        print(
            f"{r.instance_id} {r.business_key}: {state}"
            + (f" ({'; '.join(listed)})" if listed else "")
        )
        for event in r.started:
            print(f"  starts {event['kind']} {event['element_id']} on {event['attached_to']}")
        for event in r.dropped:
            print(f"  drops {event['kind']} {event['element_id']} on {event['attached_to']}")
        verb = "reassigned" if r.migrated else "reassigns"
        for task in r.reassigned:
            changes = "; ".join(_change(c) for c in task["changes"])
            print(f"  {verb} task {task['task_id']} at {task['element_id']}: {changes}")
        for warning in r.warnings:
            print(f"  warning: {warning['message']}")
        for problem in r.problems:
            print(f"  {problem['element_id']}: {problem['message']}", file=sys.stderr)
    if not args.execute:
        print(
            f"dry run: {len(run.results)} instances checked, nothing changed (--execute migrates)",
            file=sys.stderr,
        )
    return 0 if all(r.ok for r in run.results) else 1


def cmd_doctor(_args: argparse.Namespace) -> int:
    from bpmn_service.context import AppContext
    from bpmn_service.services.doctor import check_all

    ctx = AppContext.create(Settings())
    findings = 0
    for finding in check_all(ctx):
        findings += 1
        print(finding, file=sys.stderr)
    print(f"checked the stored state of every instance: {findings} inconsistencies")
    return 1 if findings else 0


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    from bpmn_service.worker import ApiClient, Handlers, serve

    token = os.environ.get("BPMN_WORKER_TOKEN")
    if not token:
        raise ValueError("set BPMN_WORKER_TOKEN to the bearer token of a user in the worker group")
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(message)s")
    handlers = Handlers.load(
        settings.registry_file, Path(args.shared_registers), Path(args.sms_outbox)
    )
    topics = tuple(t.strip() for t in args.topics.split(",") if t.strip())
    done = serve(
        ApiClient(args.url, token),
        handlers,
        worker_id=args.worker_id,
        poll=args.poll,
        topics=topics,
        once=args.once,
    )
    print(f"completed {done} external tasks")
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from bpmn_service.db.connect import make_engine
    from bpmn_service.db.migrate import upgrade

    settings = Settings()
    upgrade(make_engine(settings.database_url, schema=settings.database_schema))
    print("database is at the newest schema")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bpmn_service.context import AppContext
    from bpmn_service.errors import ServiceError
    from bpmn_service.identity import Principal
    from bpmn_service.services import analytics, analytics_text

    ctx = AppContext.create(Settings())
    if args.view == "all":
        views = ("processes",) if args.format == "csv" else analytics.VIEWS
    else:
        views = (args.view,)
    params = analytics.ReportParams(
        key=args.key,
        version=args.version,
        category=args.category,
        started_from=args.started_from,
        started_to=args.started_to,
        satisfaction_variable=args.satisfaction_variable,
    )
    try:
        if not analytics.calendar_loaded(ctx):
            print(
                "bpmn-service: the calendar_day table is empty (start the service once); "
                "working days are left out",
                file=sys.stderr,
            )
        found = analytics.reports(
            ctx, Principal(CLI_PRINCIPAL_ID, frozenset({"admin"})), params, views
        )
    except ServiceError as exc:
        print(f"bpmn-service: {exc.message}", file=sys.stderr)
        return 2
    finally:
        ctx.engine.dispose()
    print(analytics_text.render(found, args.format))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from bpmn_service import simulation
    from bpmn_service.simulation.runner import stderr_if_tty

    settings = Settings()
    logging.getLogger("spiff").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.candidate:
        return _simulate_candidate(args, settings)
    scenario = simulation.load(Path(args.scenario))
    if args.applications is not None:
        scenario.applications = args.applications
    if args.seed is not None:
        scenario.seed = args.seed
    outputs = simulation.run(
        scenario,
        simulation.Environment.from_settings(settings),
        workers=args.workers,
        with_service_kpis=not args.no_service_kpis,
        keep_database=Path(args.keep_database) if args.keep_database else None,
        with_sensitivity=args.sensitivity,
        sensitivity_applications=args.sensitivity_applications,
        progress=None if args.quiet else stderr_if_tty(),
    )
    paths = simulation.write_outputs(outputs, Path(args.out))
    print(simulation.report.text_summary(outputs.report))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 1 if outputs.report["errors"] else 0


def _simulate_candidate(args: argparse.Namespace, settings: Settings) -> int:
    """What-if: the scenario on the deployed version of the candidate's process and on the
    candidate, side by side (the same comparison as POST /api/v1/simulations)."""
    import json
    import tempfile

    from bpmn_service import simulation
    from bpmn_service.context import AppContext
    from bpmn_service.db.migrate import is_current
    from bpmn_service.errors import NotFound
    from bpmn_service.services.definitions import get_xml, latest_version
    from bpmn_service.services.deployments import BpmnFile, check_files
    from bpmn_service.services.simulation_jobs import DEFAULT_APPLICATIONS
    from bpmn_service.simulation import whatif
    from bpmn_service.simulation.runner import stderr_if_tty

    candidate = Path(args.candidate)
    ctx = AppContext.create(settings)
    try:
        key = check_files(ctx, [BpmnFile(str(candidate), _read(candidate))])[0].key
    except InvalidBpmn as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    deployed_xml = None
    version = None
    if is_current(ctx.engine):
        try:
            version = latest_version(ctx, key)
            deployed_xml = get_xml(ctx, key, version)
        except NotFound:
            pass
    ctx.engine.dispose()
    scenario = simulation.load(Path(args.scenario))
    if args.seed is not None:
        scenario.seed = args.seed
    with tempfile.TemporaryDirectory(prefix="bpmn-whatif-") as tmp:
        if deployed_xml is None:
            deployed = settings.processes_dir / f"{key}.bpmn"
            if not deployed.is_file():
                raise ValueError(f"process {key!r} is neither deployed nor in {deployed.parent}")
            print(f"comparing {candidate} with {deployed} (not deployed in the database)")
            label = f"{deployed} (what is compared as deployed)"
        else:
            deployed = Path(tmp) / f"{key}.bpmn"
            deployed.write_text(deployed_xml, encoding="utf-8")
            print(f"comparing {candidate} with the deployed {key}, version {version}")
            label = f"the deployed version {version} of {key}"
        result = whatif.compare(
            scenario,
            simulation.Environment.from_settings(settings),
            key,
            deployed,
            candidate,
            applications=args.applications or DEFAULT_APPLICATIONS,
            workers=args.workers,
            on_progress=_progress_bar() if stderr_if_tty() and not args.quiet else None,
            deployed_label=label,
            candidate_label=str(candidate),
        )
    print(simulation.report.whatif_text(result))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "whatif.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"json: {path}")
    return 1 if any(result["failed"].values()) else 0


def _progress_bar() -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        print(f"\r{done}/{total} applications", end="\n" if done >= total else "", file=sys.stderr)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bpmn-service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    check = sub.add_parser(
        "check",
        help="check BPMN files offline: every error and warning; exit 1 when any file has an "
        "error, 2 when a directory has no .bpmn file",
    )
    check.add_argument("paths", nargs="+", help="files or directories of .bpmn files")
    check.add_argument(
        "--config",
        help="the project root (or its config directory) whose users, calendar and time limits "
        "to use; default: the project the file lies in",
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(func=cmd_check)
    layout = sub.add_parser(
        "layout",
        help="redraw a BPMN file's diagram left to right in its lanes (only the BPMNDI changes)",
    )
    layout.add_argument("file", help="the .bpmn file")
    layout.add_argument("-o", "--output", help="write here instead of replacing the file")
    layout.set_defaults(func=cmd_layout)
    deploy = sub.add_parser("deploy", help="deploy BPMN files into the configured database")
    deploy.add_argument("paths", nargs="+", help="files or directories of .bpmn files")
    deploy.set_defaults(func=cmd_deploy)
    doctor = sub.add_parser(
        "doctor", help="check every instance's engine state against the task tables"
    )
    doctor.set_defaults(func=cmd_doctor)
    worker = sub.add_parser(
        "worker",
        help="run the reference external-task workers (construction_registry, "
        "data_sharing, sms, e_sign) against a running service",
    )
    worker.add_argument("--url", default="http://127.0.0.1:8000")
    worker.add_argument("--worker-id", default="reference-worker")
    worker.add_argument("--topics", default="construction_registry,data_sharing,sms,e_sign")
    worker.add_argument("--shared-registers", default="config/shared-registers.toml")
    worker.add_argument("--sms-outbox", default="var/sms-outbox.jsonl")
    worker.add_argument("--poll", type=float, default=2.0, help="seconds between empty fetches")
    worker.add_argument("--once", action="store_true", help="one fetch round, then exit")
    worker.set_defaults(func=cmd_worker)
    instances = sub.add_parser(
        "migrate-instances",
        help="move running instances to another version of their process (a dry run unless "
        "--execute); see docs/operations.md",
    )
    instances.add_argument(
        "--from",
        dest="source",
        type=_version,
        required=True,
        metavar="KEY:VERSION",
        help="the version the instances run on",
    )
    instances.add_argument(
        "--to",
        dest="target",
        type=_version,
        required=True,
        metavar="KEY:VERSION",
        help="the version to move them to",
    )
    instances.add_argument(
        "--instance",
        action="append",
        metavar="ID",
        help="only this instance (repeatable); default: all active ones",
    )
    instances.add_argument(
        "--business-key-like",
        metavar="PATTERN",
        help="only instances whose business key matches (SQL LIKE, e.g. YK-%%)",
    )
    instances.add_argument(
        "--map",
        action="append",
        type=_mapping,
        metavar="OLD=NEW",
        help="map an element of the source to one of the target (repeatable)",
    )
    instances.add_argument("--reason", required=True, help="why; kept in each instance's history")
    instances.add_argument(
        "--by",
        metavar="NAME",
        help="who migrates, as each instance's history names them (default: cli:<login name>)",
    )
    instances.add_argument(
        "--execute", action="store_true", help="migrate (default: only report what would happen)"
    )
    instances.add_argument("--format", choices=["text", "json"], default="text")
    instances.set_defaults(func=cmd_migrate_instances)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)
    report = sub.add_parser(
        "report", help="print the analytics KPIs (docs/analytics.md) from the configured database"
    )
    report.add_argument("--key", help="process definition key")
    report.add_argument("--version", type=int, help="process version (needs --key)")
    report.add_argument("--category", help="customer category, e.g. HV_S")
    report.add_argument(
        "--from", dest="started_from", help="instances started at or after (date: Beijing)"
    )
    report.add_argument("--to", dest="started_to", help="instances started before (date: Beijing)")
    report.add_argument(
        "--view",
        choices=["all", "processes", "steps", "lanes", "time-limits"],
        default="all",
        help="which figures (default all; csv prints processes unless told)",
    )
    report.add_argument("--format", choices=["table", "json", "csv"], default="table")
    report.add_argument(
        "--satisfaction-variable", help="numeric instance variable averaged (default score1to5)"
    )
    report.set_defaults(func=cmd_report)
    simulate = sub.add_parser(
        "simulate",
        help="run synthetic applications through the deployed processes on a virtual clock "
        "(docs/analytics.md#simulation); writes an HTML, JSON and CSV report",
    )
    simulate.add_argument("--scenario", default="config/simulation.toml")
    simulate.add_argument("--applications", type=int, help="per process (default: scenario)")
    simulate.add_argument("--seed", type=int, help="random seed (default: scenario)")
    simulate.add_argument("--workers", type=int, help="worker processes (default: CPU count)")
    simulate.add_argument("--out", default="var/simulation", help="report directory")
    simulate.add_argument(
        "--sensitivity", action="store_true", help="also vary each parameter in turn"
    )
    simulate.add_argument(
        "--sensitivity-applications", type=int, default=60, help="per sensitivity run"
    )
    simulate.add_argument(
        "--no-service-kpis",
        action="store_true",
        help="skip writing the history to a throwaway database for the service's analytics",
    )
    simulate.add_argument("--keep-database", help="copy the throwaway SQLite database here")
    simulate.add_argument("--quiet", action="store_true", help="no progress bar")
    simulate.add_argument(
        "--candidate",
        metavar="FILE",
        help="what-if: compare this draft BPMN with the deployed version of its process on the "
        "same applications (default 200; writes whatif.json)",
    )
    simulate.set_defaults(func=cmd_simulate)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # configuration errors: say what is wrong, no traceback
        print(f"bpmn-service: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:  # a configuration file the settings name is not there
        print(
            f"bpmn-service: {exc.filename}: no such file (relative paths of the configuration "
            f"are read from the current directory, {Path.cwd()}: run the command in the "
            "project's directory, or set the BPMN_* variable that names the file; README, "
            "Configuration)",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        unmigrated = ("no such table", "does not exist")
        if not isinstance(exc, OperationalError | ProgrammingError) or not any(
            text in str(exc) for text in unmigrated
        ):
            raise
        print(
            "bpmn-service: the configured database has no service tables yet: run "
            "`bpmn-service migrate` (or `serve`, which migrates) against it first",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
