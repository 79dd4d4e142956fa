"""The streamlined process's co-signed acceptance (会签) beside the parallel meter installation."""

from __future__ import annotations

import pytest

from conftest import Api
from process_paths import PROCESSES, load_paths, run_steps, start

KEY = "yekuo_streamlined"


@pytest.fixture
def deployed(api: Api) -> Api:
    assert api.deploy(PROCESSES / f"{KEY}.bpmn").status_code == 201
    return api


def completed(final: dict[str, object], element: str) -> list[dict[str, object]]:
    history = final["history"]
    assert isinstance(history, list)
    return [e for e in history if e["type"] == "task_completed" and e["element_id"] == element]


def run_with_notice(api: Api, path: str, business_key: str) -> tuple[dict[str, object], str]:
    """Drive `path`, reading the rectification notice the open B-UT13 task shows on the way."""
    steps = load_paths(KEY)["paths"][path]
    instance_id = start(api, KEY, path, business_key)
    at_notice = [s[0] for s in steps].index("B-UT13")
    run_steps(api, instance_id, steps[:at_notice])
    [open_notice] = [t for t in api.open_tasks(instance_id) if t["element_id"] == "B-UT13"]
    shown = api.get(f"/tasks/{open_notice['id']}").json()["variables"]
    run_steps(api, instance_id, steps[at_notice:])
    return api.get(f"/process-instances/{instance_id}").json(), str(shown["rectificationNotice"])


def test_one_rejecting_signer_gives_one_merged_notice_and_the_meter_is_not_redone(
    deployed: Api,
) -> None:
    final, notice_text = run_with_notice(deployed, "HV_S_cosign_one_rejects", "YK-B-COSIGN-1")
    assert final["status"] == "completed"
    signatures = completed(final, "B-UT10")
    first_round, second_round = signatures[:4], signatures[4:]
    assert len(signatures) == 8
    rejecting = [s for s in first_round if s["details"]["variables"]["decision"] == "REJECT"]
    assert len(rejecting) == 1
    assert all(s["details"]["variables"]["decision"] == "APPROVE" for s in second_round)
    [notice] = completed(final, "B-UT13")
    assert len(completed(final, "B-UT11")) == 1
    defects = rejecting[0]["details"]["variables"]["defects"]
    assert defects and defects in notice_text
    order = [e["element_id"] for e in final["history"] if e["type"] == "task_completed"]
    assert order.index("B-UT13") < order.index("K-T12") < order.index("B-UT14")
    # The co-signers are four different groups, each claiming its own instance.
    groups = {
        e["details"]["candidate_groups"][0]
        for e in final["history"]
        if e["type"] == "task_created" and e["element_id"] == "B-UT10"
    }
    assert groups == {"inspection", "om_dept", "dispatch", "metering"}
    assert notice["actor"] == "manager"


def test_two_rejecting_signers_share_one_notice(deployed: Api) -> None:
    final, notice_text = run_with_notice(
        deployed, "HV_D_cosign_two_reject_meter_last", "YK-B-COSIGN-2"
    )
    assert final["status"] == "completed"
    notices = [
        e for e in final["history"] if e["type"] == "engine_step" and e["element_id"] == "B-ST06"
    ]
    assert len(notices) == 2  # one merge per co-sign round
    first_round = completed(final, "B-UT10")[:4]
    rejecting = [s for s in first_round if s["details"]["variables"]["decision"] == "REJECT"]
    assert len(rejecting) == 2
    assert len(completed(final, "B-UT13")) == 1
    [created] = [
        e for e in final["history"] if e["type"] == "task_created" and e["element_id"] == "B-UT13"
    ]
    assert created["details"]["candidate_groups"] == ["customer_manager"]
    for signature in rejecting:
        defects = signature["details"]["variables"]["defects"]
        assert defects and defects in notice_text
    assert len(completed(final, "B-UT11")) == 1
