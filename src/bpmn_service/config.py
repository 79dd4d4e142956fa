"""One typed settings object, read from BPMN_* environment variables and injected everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BPMN_", extra="forbid")

    database_url: str = Field(
        "sqlite:///var/bpmn.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host:5432/db",
    )
    database_schema: str | None = Field(
        None, description="PostgreSQL schema to use (search_path); default: the server's default"
    )
    users_file: Path = Field(Path("config/users.toml"), description="Users, tokens and groups")
    processes_dir: Path = Field(Path("processes"), description="BPMN files deployed at start-up")
    lane_groups_file: Path | None = Field(
        None, description="Lane name -> groups mapping; default: <processes_dir>/lane-groups.toml"
    )
    registry_file: Path = Field(
        Path("config/construction-units.toml"), description="Licensed construction units registry"
    )
    calendar_file: Path = Field(
        Path("config/calendar.toml"), description="Working-day calendar (holidays, 调休 days)"
    )
    time_limits_file: Path = Field(
        Path("config/time-limits.toml"), description="Time-limit regimes per process"
    )
    simulation_scenario_file: Path = Field(
        Path("config/simulation.toml"),
        description="Scenario of what-if simulations (POST /simulations, simulate --candidate)",
    )
    reference_workers: bool | None = Field(
        None,
        description="run the reference external-task workers in the server process "
        "(default: on in development, off in production)",
    )
    shared_registers_file: Path = Field(
        Path("config/shared-registers.toml"), description="Local shared registers (data_sharing)"
    )
    sms_outbox_file: Path = Field(
        Path("var/sms-outbox.jsonl"), description="Where the reference SMS worker queues texts"
    )
    supervisor_groups: str = Field(
        "admin,supervisor",
        description="comma-separated groups whose members oversee others' tasks and may repair "
        "and migrate running cases",
    )
    deploy_on_start: bool = Field(True, description="Deploy every *.bpmn in processes_dir at start")
    migrate_on_start: bool = Field(True, description="Apply database migrations at start")
    mode: Literal["development", "production"] = Field(
        "development", description="production refuses the shipped demo tokens"
    )
    timer_poll_seconds: float = Field(
        5.0, description="How often each server process looks for due timers; 0 disables"
    )
    default_starter_groups: str = Field(
        # The demo's staff and the customer portal; not contractors or worker accounts.
        "analyst,hall_clerk,yk_specialist,plan_engineer,dev_planning,om_dept,dispatch,leadership,"
        "supervisor,inspection,metering,archive,customer_manager,project_manager,service_center,"
        "customer",
        description="comma-separated groups that may start a process declaring no "
        "camunda:candidateStarterGroups/Users (admin may start any)",
    )
    run_max_steps: int = Field(
        10_000,
        ge=1,
        description="Most engine steps one run (a start, a completion, a message, a timer) may "
        "take before it is rolled back as a loop that never waits",
    )
    max_variables_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Most bytes a case's variables may take as JSON (its stored state at most "
        "four times as much); a run leaving more is rolled back",
    )
    warm_workflows: int = Field(
        256,
        ge=0,
        description="How many workflows each server process keeps in memory after a call, so "
        "that the next call on the same stored state skips loading it (0: none)",
    )
    run_max_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest time one engine run may take before it is rolled back",
    )
    message_cascade_max: int = Field(
        500,
        ge=1,
        description="Most messages one request (or fired timer) may deliver or start processes "
        "with, following what the processes throw, before all of it is rolled back",
    )
    config_check_seconds: float = Field(
        2.0,
        ge=0,
        description="How often the users and lane groups files are checked for edits (0: every "
        "request)",
    )
    message_ttl_seconds: int = Field(
        30 * 24 * 3600, description="How long a message nobody waits for yet is kept (default)"
    )
    max_upload_bytes: int = Field(5 * 1024 * 1024, description="Largest accepted BPMN file")
    max_body_bytes: int = Field(1024 * 1024, description="Largest accepted JSON request body")
    log_level: str = Field("INFO", description="Python logging level")
    metrics_token: str | None = Field(
        None,
        description="bearer token Prometheus sends to GET /metrics; unset: production mode "
        "answers loopback clients only",
    )
    cors_origins: str = Field(
        "",
        description="comma-separated origins browsers may call the API from (e.g. a web "
        "modeler or tasklist); * for any; empty: no CORS headers",
    )

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def default_starter_group_set(self) -> frozenset[str]:
        return frozenset(g.strip() for g in self.default_starter_groups.split(",") if g.strip())

    @property
    def supervisor_group_set(self) -> frozenset[str]:
        return frozenset(g.strip() for g in self.supervisor_groups.split(",") if g.strip())

    @property
    def lane_groups_path(self) -> Path:
        return self.lane_groups_file or self.processes_dir / "lane-groups.toml"
