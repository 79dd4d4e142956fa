"""Users, bearer tokens and groups from a TOML file (JWT/OIDC can replace this later)."""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bpmn_service.errors import Unauthenticated

ADMIN_GROUP = "admin"
# The tokens of the shipped config/users.toml. They are public, so production refuses them however
# they are stored (plain or as token_sha256).
SHIPPED_DEMO_TOKENS = frozenset(
    {
        "demo-admin",
        "demo-analyst",
        "demo-clerk",
        "demo-clerk2",
        "demo-specialist",
        "demo-planner",
        "demo-devplan",
        "demo-om",
        "demo-dispatcher",
        "demo-leader",
        "demo-inspector",
        "demo-meterman",
        "demo-archivist",
        "demo-manager",
        "demo-pm",
        "demo-service",
        "demo-portal",
        "demo-contractor",
        "demo-worker",
    }
)
_SHIPPED_DIGESTS = frozenset(hashlib.sha256(t.encode()).digest() for t in SHIPPED_DEMO_TOKENS)
DEPLOYER_GROUPS = frozenset({"admin", "analyst"})
SUPERVISOR_GROUPS = frozenset({"admin", "supervisor"})


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    groups: frozenset[str]
    # Who may oversee others' work and repair or migrate cases (BPMN_SUPERVISOR_GROUPS).
    supervisor_groups: frozenset[str] = SUPERVISOR_GROUPS

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @property
    def can_deploy(self) -> bool:
        return bool(self.groups & DEPLOYER_GROUPS)

    @property
    def is_supervisor(self) -> bool:
        return bool(self.groups & self.supervisor_groups)


@dataclass(frozen=True, slots=True)
class _User:
    user_id: str
    token_sha256: bytes
    groups: frozenset[str]
    demo: bool


class UserDirectory:
    def __init__(
        self, users: list[_User], supervisor_groups: frozenset[str] = SUPERVISOR_GROUPS
    ) -> None:
        self._users = users
        self._supervisor_groups = supervisor_groups

    @classmethod
    def load(
        cls, path: Path, supervisor_groups: frozenset[str] = SUPERVISOR_GROUPS
    ) -> UserDirectory:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"users file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"users file {path} is not valid TOML: {exc}") from None
        users = []
        for user_id, entry in (data.get("users") or {}).items():
            groups = entry.get("groups", [])
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise ValueError(
                    f"users file {path}: users.{user_id}.groups must be a list of strings"
                )
            if "token_sha256" in entry:
                digest = bytes.fromhex(entry["token_sha256"])
            elif "token" in entry:
                digest = hashlib.sha256(str(entry["token"]).encode()).digest()
            else:
                raise ValueError(f"users file {path}: users.{user_id} needs token or token_sha256")
            demo = str(entry.get("token", "")).startswith("demo-") or digest in _SHIPPED_DIGESTS
            users.append(_User(user_id, digest, frozenset(groups), demo))
        return cls(users, supervisor_groups)

    def groups_of(self, user_id: str) -> frozenset[str] | None:
        """The groups of a user of the file, or None for a user it does not know."""
        for user in self._users:
            if user.user_id == user_id:
                return user.groups
        return None

    @property
    def user_ids(self) -> frozenset[str]:
        return frozenset(u.user_id for u in self._users)

    @property
    def group_ids(self) -> frozenset[str]:
        """Every group some user of the file is in."""
        return frozenset(g for u in self._users for g in u.groups)

    @property
    def has_demo_tokens(self) -> bool:
        return any(u.demo for u in self._users)

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("missing bearer token (send 'Authorization: Bearer <token>')")
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        # Compare against every user so timing does not reveal which prefix matched.
        for user in self._users:
            if hmac.compare_digest(user.token_sha256, digest):
                found = user
        if found is None:
            raise Unauthenticated("invalid bearer token")
        return Principal(found.user_id, found.groups, self._supervisor_groups)
