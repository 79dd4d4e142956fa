"""What a Camunda client asks first: the engine's version and name."""

from __future__ import annotations

from fastapi import APIRouter

from bpmn_service.api.compat.schemas import Engine, Version

# The Camunda 7 REST API version whose subset this service answers (docs/camunda.md).
CAMUNDA_VERSION = "7.22.0"

router = APIRouter(tags=["engine"])


@router.get("/version", response_model=Version)
def get_rest_api_version() -> Version:
    """The Camunda REST API version this subset follows (Camunda Modeler reads it)."""
    return Version(version=CAMUNDA_VERSION)


@router.get("/engine", response_model=list[Engine])
def get_process_engine_names() -> list[Engine]:
    """The one engine this service is."""
    return [Engine(name="default")]
