"""The window clerk in the browser: inbox, claim (and a lost race), the task form with a field
error, completion, and the next task in the specialist's inbox."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workspace_browser import Server, Ui

APPLICATION = {
    "businessType": "NEW",
    "channel": "HALL",
    "customerName": "孝感市和顺餐饮有限公司",
    "customerKind": "LEGAL_ENTITY",
    "idType": "USCC",
    "idNumber": "91420900MA4KXXXX1A",
    "contactName": "李娜",
    "contactPhone": "13900002222",
    "siteAddress": "孝感市孝南区城站路16号",
    "electricityCategory": "COMMERCIAL_INDUSTRIAL",
    "appliedCapacityKVA": 80.0,
    "supplyVoltageRequested": "380V",
    "supplySourceCount": "SINGLE",
}


def fits(ui: Ui) -> bool:
    """Nothing wider than the 1280 px window: no horizontal scrolling."""
    return bool(ui.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def claim_first(ui: Ui, key: str) -> None:
    """Claim the application's task from the clerk's inbox and wait for the task page."""
    ui.inbox(key).first.get_by_role("button", name="认领").click()
    ui.page.get_by_test_id("assignee").get_by_text("clerk").wait_for()


def fill_acceptance(page: Any, note: str | None = None) -> None:
    """Fill the acceptance form's required fields (and the note, when given)."""
    page.locator("#root_docsComplete-0").check()
    page.locator("#root_docIdProof").check()
    page.locator("#root_acceptedAt").fill("2026-11-30")
    if note is not None:
        page.locator("#root_acceptanceNote").fill(note)


def apply(server: Server) -> tuple[str, dict[str, Any]]:
    """A new application, as the online portal registers it."""
    key = f"YK-UI-{uuid.uuid4().hex[:8]}"
    started = server.api(
        "POST",
        "/process-definitions/yekuo_current/instances",
        "clerk",
        json={"business_key": key, "variables": APPLICATION},
    )
    return key, started


def accept(server: Server, started: dict[str, Any], *, docs_complete: bool = True) -> None:
    """The window clerk accepts the application (its documents complete, or not)."""
    task = started["tasks"][0]["id"]
    server.api("POST", f"/tasks/{task}/claim", "clerk")
    server.api(
        "POST",
        f"/tasks/{task}/complete",
        "clerk",
        json={"variables": {"docsComplete": docs_complete, "acceptedAt": "2026-11-30"}},
    )


def test_clerk_claims_fills_the_form_fixes_an_error_and_hands_over(ui: Ui, server: Server) -> None:
    key, _ = apply(server)
    page = ui.page
    ui.goto("/")
    page.locator("#token").wait_for()
    ui.shot("01-sign-in")
    ui.sign_in("clerk")
    assert "hall_clerk" in page.get_by_test_id("who").inner_text()

    # The inbox, filtered to the application; the first task offered to the clerk's group.
    rows = ui.inbox(key)
    assert rows.count() == 1
    row = rows.first
    assert key in row.inner_text() and "受理用电申请" in row.inner_text()
    assert fits(ui)
    ui.shot("02-inbox")
    row.get_by_role("button", name="认领").click()
    page.get_by_test_id("assignee").get_by_text("clerk").wait_for()
    # The process by its name, as the inbox shows it, not its key.
    page.get_by_test_id("task-process").get_by_text("现行业扩报装").wait_for()
    # A read-only field the start form asks as a choice shows the choice's label, not its code.
    assert page.locator("#root_electricityCategory").input_value() == "一般工商业"

    # One invalid value: a note longer than the form allows; the error shows at that field.
    fill_acceptance(page, "资" * 501)
    page.get_by_role("button", name="提交办理").click()
    note = page.locator(".form-group", has=page.locator("#root_acceptanceNote"))
    note.locator(".error-detail").wait_for()
    assert "500" in note.locator(".error-detail").inner_text()
    # The keyboard lands on the field in error, and the focus is visible.
    focused = page.evaluate(
        "() => [document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["root_acceptanceNote", "solid"]
    assert fits(ui)
    ui.shot("03-field-error")

    # Fixed, completed: the answer names the next task, for the specialists.
    page.locator("#root_acceptanceNote").fill("资料齐全，当场受理")
    page.get_by_role("button", name="提交办理").click()
    handed = page.get_by_test_id("next-tasks")
    handed.get_by_text("组织现场勘查").wait_for()
    assert "yk_specialist" in handed.inner_text()
    ui.shot("04-completed")

    ui.sign_out()
    ui.sign_in("specialist")
    assert [r.split("\t")[0] for r in ui.inbox(key).all_inner_texts()] == ["组织现场勘查"]
    ui.shot("05-specialist-inbox")


def test_the_inbox_asks_the_api_once_per_page_not_once_per_row(ui: Ui, server: Server) -> None:
    for _ in range(3):
        apply(server)
    calls: list[str] = []
    ui.page.on(
        "request",
        lambda r: calls.append(urlsplit(r.url).path) if "/api/v1/" in r.url else None,
    )
    ui.sign_in("clerk")
    rows = ui.page.locator("[data-testid=inbox] tbody tr")
    rows.nth(2).wait_for()
    ui.page.wait_for_load_state("networkidle")
    assert rows.count() >= 3
    assert sorted(calls) == ["/api/v1/me", "/api/v1/process-definitions", "/api/v1/tasks"]


def test_a_lost_claim_race_names_who_holds_the_task(ui: Ui, server: Server) -> None:
    key, started = apply(server)
    ui.sign_in("clerk")
    page = ui.page
    row = ui.inbox(key).first
    assert key in row.inner_text()
    # Another clerk is faster.
    server.api("POST", f"/tasks/{started['tasks'][0]['id']}/claim", "clerk2")
    row.get_by_role("button", name="认领").click()
    page.get_by_role("alert").get_by_text("clerk2").wait_for()
    ui.shot("lost-race")
    # Chinese by default, English on request.
    page.get_by_label("语言").select_option("en")
    page.get_by_role("heading", name="Inbox").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"


def test_a_new_application_shows_the_services_refusal_at_its_field(ui: Ui) -> None:
    """A value the form's schema allows but the service refuses (a blank required text): the
    service's 422 message appears at that field, and nothing is started until it is fixed."""
    ui.sign_in("clerk")
    page = ui.page
    page.get_by_role("link", name="新建申请").click()
    page.get_by_label("流程").select_option(label="投诉快速通道")
    key = f"TS-UI-{uuid.uuid4().hex[:8]}"
    page.locator("#business-key").fill(key)
    page.locator("#root_complaintChannel").select_option(label="营业窗口")
    page.locator("#root_complaintCategory").select_option(label="超时限")
    page.locator("#root_complaintDescription").fill("   ")
    page.get_by_role("button", name="提交申请").click()
    field = page.locator(".form-group", has=page.locator("#root_complaintDescription"))
    field.locator(".error-detail").get_by_text("must not be blank").wait_for()
    ui.shot("01-server-error-at-field")

    page.locator("#root_complaintDescription").fill("装表接电超过承诺时限")
    page.get_by_role("button", name="提交申请").click()
    page.get_by_text(f"申请 {key} 已受理").wait_for()
    ui.shot("02-started")


def test_an_expired_session_keeps_the_filled_form_until_the_clerk_signs_in_again(
    ui: Ui, server: Server
) -> None:
    """The token ends while a clerk fills a form (revoked, rotated): the completion's 401 asks
    for the token again over the page instead of throwing the page away, so what was typed is
    still there and is sent once the clerk is back."""
    key, _ = apply(server)
    ui.sign_in("clerk")
    page = ui.page
    claim_first(ui, key)
    note = "资料齐全；客户另需加急办理，已电话告知所需材料"
    fill_acceptance(page, note)

    expired = {"body": {"code": "unauthenticated", "message": "invalid bearer token"}}
    page.route(
        "**/api/v1/tasks/*/complete",
        lambda route: ui.fake_answer(route, 401, expired["body"]),
        times=1,
    )
    page.get_by_role("button", name="提交办理").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("登录已失效").wait_for()
    # The form is still there behind the dialog, and the keyboard is in the token field.
    assert page.locator("#root_acceptanceNote").input_value() == note
    assert page.evaluate("document.activeElement.id") == "token"
    assert page.get_by_role("alert").count() == 0  # the dialog says it; no 401 on the page
    ui.shot("01-session-expired")

    dialog.locator("#token").fill("demo-clerk")
    page.keyboard.press("Enter")
    dialog.wait_for(state="detached")
    assert page.locator("#root_acceptanceNote").input_value() == note
    page.get_by_role("button", name="提交办理").click()
    page.get_by_test_id("next-tasks").get_by_text("组织现场勘查").wait_for()
    ui.shot("02-completed-after-signing-in-again")

    # A page that could not load because the session had ended loads once the clerk is back.
    page.route(
        "**/api/v1/tasks?*",
        lambda route: ui.fake_answer(route, 401, expired["body"]),
        times=1,
    )
    page.get_by_test_id("next-tasks").get_by_role("link", name="返回待办").click()
    page.get_by_role("dialog").locator("#token").fill("demo-clerk")
    page.keyboard.press("Enter")
    page.locator("[data-testid=inbox], [data-testid=inbox-empty]").first.wait_for()


def test_signing_in_as_someone_else_after_an_expired_session_starts_afresh(
    ui: Ui, server: Server
) -> None:
    """Another user at the expired session's dialog gets their own workspace, not the page
    (and the typed values) of the user before them."""
    key, started = apply(server)
    ui.sign_in("clerk")
    page = ui.page
    claim_first(ui, key)
    page.locator("#root_acceptanceNote").fill("只给 clerk 看的备注")
    page.route(
        "**/api/v1/tasks/*/complete",
        lambda route: ui.fake_answer(route, 401, {"code": "unauthenticated", "message": "x"}),
        times=1,
    )
    fill_acceptance(page)
    page.get_by_role("button", name="提交办理").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#token").fill("demo-clerk2")
    page.keyboard.press("Enter")
    page.get_by_test_id("who").locator("strong", has_text="clerk2").wait_for()
    dialog.wait_for(state="detached")
    page.get_by_role("heading", name="待办任务").wait_for()
    assert page.locator("#root_acceptanceNote").count() == 0
    task = server.api("GET", f"/tasks/{started['tasks'][0]['id']}")
    assert task["assignee"] == "clerk"


def test_a_task_taken_over_while_the_clerk_fills_it_says_so_and_shows_who_has_it(
    ui: Ui, server: Server
) -> None:
    """A supervisor gives the task back and another clerk claims it while the first one is
    still typing: submitting says in the clerk's language that the task changed hands, shows
    who holds it now, and keeps what was typed on the page."""
    key, started = apply(server)
    task = started["tasks"][0]["id"]
    ui.sign_in("clerk")
    page = ui.page
    claim_first(ui, key)
    fill_acceptance(page, "资料齐全")
    server.api("POST", f"/tasks/{task}/unclaim", "leader")
    server.api("POST", f"/tasks/{task}/claim", "clerk2")

    page.get_by_role("button", name="提交办理").click()
    page.get_by_role("alert").get_by_text("已由他人认领").wait_for()
    page.get_by_test_id("assignee").get_by_text("clerk2").wait_for()
    assert "task " not in page.get_by_role("alert").inner_text()  # no raw English answer
    assert page.get_by_role("button", name="提交办理").count() == 0
    assert page.locator("#root_acceptanceNote").input_value() == "资料齐全"
    ui.shot("taken-over")
    assert server.api("GET", f"/tasks/{task}")["assignee"] == "clerk2"


def test_a_business_key_already_taken_is_said_at_its_field_with_the_existing_case(
    ui: Ui, server: Server
) -> None:
    """The clerk types an application number that already has a case: the field says so in
    Chinese, the keyboard is back in it, and a link opens the existing case."""
    key = f"TS-UI-{uuid.uuid4().hex[:8]}"
    complaint = {
        "complaintChannel": "WINDOW",
        "complaintCategory": "OVERDUE",
        "complaintDescription": "装表接电超过承诺时限",
    }
    first = server.api(
        "POST",
        "/process-definitions/complaint_fast_track/instances",
        "clerk",
        json={"business_key": key, "variables": complaint},
    )
    ui.sign_in("clerk")
    page = ui.page
    page.get_by_role("link", name="新建申请").click()
    page.get_by_label("流程").select_option(label="投诉快速通道")
    page.locator("#business-key").fill(key)
    page.locator("#root_complaintChannel").select_option(label="营业窗口")
    page.locator("#root_complaintCategory").select_option(label="超时限")
    page.locator("#root_complaintDescription").fill("重复登记")
    page.get_by_role("button", name="提交申请").click()
    error = page.locator("#business-key-error")
    error.get_by_text(f"申请编号 {key} 已有案件").wait_for()
    assert page.evaluate("document.activeElement.id") == "business-key"
    assert page.locator("#business-key").get_attribute("aria-describedby") == "business-key-error"
    ui.shot("duplicate-key")
    error.get_by_role("link", name="查看该案件").click()
    page.wait_for_url(f"**/ui/cases/{first['id']}")
    page.get_by_role("heading", name=key).wait_for()


def test_a_clerk_claims_with_the_keyboard_and_lands_in_the_first_field_to_fill(
    ui: Ui, server: Server
) -> None:
    """Keyboard only: the claim button is reached and pressed with the keyboard, and the task
    page puts the focus in the first field the clerk can fill in (not on the page, seven
    read-only fields away)."""
    key, _ = apply(server)
    ui.sign_in("clerk")
    page = ui.page
    claim = ui.inbox(key).first.get_by_role("button", name="认领")
    claim.focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("assignee").get_by_text("clerk").wait_for()
    page.wait_for_function("document.activeElement.closest('#task-form') !== null")
    focused = page.evaluate(
        "() => [document.activeElement.readOnly, document.activeElement.disabled,"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == [False, False, "solid"]
    # Someone else's task: the focus is on its heading, nothing to fill in.
    _, started = apply(server)
    server.api("POST", f"/tasks/{started['tasks'][0]['id']}/claim", "clerk2")
    ui.goto(f"/ui/tasks/{started['tasks'][0]['id']}")
    page.wait_for_function("document.activeElement.tagName === 'H1'")
    assert page.evaluate("document.activeElement.textContent") == "受理用电申请"


def test_a_server_restarting_when_the_page_loads_keeps_the_clerk_signed_in(ui: Ui) -> None:
    """The clerk reloads the page while the service restarts (503): the workspace says the
    service cannot be reached and offers to retry, instead of forgetting the token as if the
    session had expired."""
    ui.sign_in("clerk")
    page = ui.page
    restarting = {"code": "unavailable", "message": "the service is starting"}
    page.route("**/api/v1/me", lambda route: ui.fake_answer(route, 503, restarting), times=1)
    page.reload()
    notice = page.get_by_test_id("unreachable")
    notice.get_by_text("暂时无法连接服务").wait_for()
    assert page.locator("#token").count() == 0
    ui.shot("service-unreachable")
    notice.get_by_role("button", name="重试").click()
    page.get_by_test_id("who").locator("strong", has_text="clerk").wait_for()
    page.get_by_role("heading", name="待办任务").wait_for()


def test_a_double_click_on_an_action_sends_it_once(ui: Ui, server: Server) -> None:
    """认领 in the inbox stayed enabled while its request ran: a double click sent two claims.
    Each action button (认领 in the inbox and on the task page, 退回, 提交办理) is disabled until
    its answer is back (those of the task page already were; they are held to it here). The
    answers are held back so that the second click lands while the first request runs."""
    key, started = apply(server)
    task = started["tasks"][0]["id"]
    held: list[Any] = []

    def hold(route: Any) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    ui.page.route("**/api/v1/tasks/*/*", hold)
    page = ui.page
    ui.sign_in("clerk")

    def once(button: Any, action: str) -> None:
        button.dblclick()
        page.wait_for_timeout(300)  # time for a second request to leave
        assert [urlsplit(r.request.url).path for r in held] == [f"/api/v1/tasks/{task}/{action}"]
        assert button.is_disabled()
        held.pop().continue_()

    once(ui.inbox(key).first.get_by_role("button", name="认领"), "claim")
    page.get_by_test_id("assignee").get_by_text("clerk").wait_for()
    once(page.get_by_role("button", name="退回"), "unclaim")
    page.get_by_test_id("assignee").get_by_text("—").wait_for()
    once(page.get_by_role("button", name="认领"), "claim")
    page.get_by_role("button", name="退回").wait_for()
    fill_acceptance(page)
    once(page.get_by_role("button", name="提交办理"), "complete")
    page.get_by_role("heading", name=re.compile("^已提交")).wait_for()
    history = server.api("GET", f"/process-instances/{started['id']}")["history"]
    mine = [h["type"] for h in history if h.get("task_id") == task and h["actor"] == "clerk"]
    assert mine == ["task_claimed", "task_unclaimed", "task_claimed", "task_completed"]


def test_a_required_yes_no_question_starts_unanswered_and_is_asked_for(
    ui: Ui, server: Server
) -> None:
    """资料是否齐全合格 is required and has no default: the form answered it 否 by itself, sent
    false, and the case went back for rework. It starts with neither answer chosen; submitted
    unanswered, the form says at the field that it is required and sends nothing; the answer
    chosen is the one sent."""
    key, started = apply(server)
    task = started["tasks"][0]["id"]
    sent: list[Any] = []
    ui.page.on(
        "request",
        lambda r: (
            sent.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith(f"/tasks/{task}/complete")
            else None
        ),
    )
    page = ui.page
    ui.sign_in("clerk")
    claim_first(ui, key)
    question = page.locator("#root_docsComplete__error")
    assert not page.locator("#root_docsComplete-0").is_checked()
    assert not page.locator("#root_docsComplete-1").is_checked()

    page.locator("#root_acceptedAt").fill("2026-11-30")
    page.get_by_role("button", name="提交办理").click()
    question.wait_for()
    page.wait_for_timeout(300)  # time for a request to leave, if one did
    assert sent == []
    assert not page.locator("#root_docsComplete-1").is_checked()
    ui.shot("01-unanswered-question")

    page.locator("#root_docsComplete-0").check()
    page.get_by_role("button", name="提交办理").click()
    page.get_by_test_id("next-tasks").get_by_text("组织现场勘查").wait_for()
    assert len(sent) == 1 and sent[0]["variables"]["docsComplete"] is True
    tasks = server.api("GET", f"/process-instances/{started['id']}")["tasks"]
    assert [t["element_id"] for t in tasks] == ["A-UT02"]


def test_a_yes_no_answer_the_case_already_holds_is_shown_chosen(ui: Ui, server: Server) -> None:
    """A value the task's variables hold is the answer shown, not an empty question: the case
    was accepted with incomplete documents (docsComplete false), then moved back to the
    acceptance."""
    key, started = apply(server)
    accept(server, started, docs_complete=False)
    server.api(
        "POST",
        f"/process-instances/{started['id']}/modification",
        "leader",
        json={
            "reason": "重新受理",
            "instructions": [
                {"type": "cancel", "element_id": "A-UT01b"},
                {"type": "start_before", "element_id": "A-UT01"},
            ],
        },
    )
    ui.sign_in("clerk")
    claim_first(ui, key)
    assert ui.page.locator("#root_docsComplete-1").is_checked()
    assert not ui.page.locator("#root_docsComplete-0").is_checked()


def test_a_start_form_yes_no_question_starts_unanswered(ui: Ui) -> None:
    """The same on 新建申请: 已提供用电地址权属证明 is asked, not answered 否."""
    ui.sign_in("clerk")
    page = ui.page
    page.get_by_role("link", name="新建申请").click()
    page.get_by_label("流程").select_option(label="优化业扩报装")
    page.locator("#root_propertyProofProvided-0").wait_for()
    assert not page.locator("#root_propertyProofProvided-0").is_checked()
    assert not page.locator("#root_propertyProofProvided-1").is_checked()
    page.locator("#business-key").fill(f"YS-UI-{uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="提交申请").click()
    page.locator("#root_propertyProofProvided__error").wait_for()
    assert not page.locator("#root_propertyProofProvided-1").is_checked()


def test_a_new_application_offers_only_the_processes_the_user_may_start(
    ui: Ui, server: Server
) -> None:
    # A process only the specialists may start (candidateStarterGroups on the process).
    key = f"starters_{uuid.uuid4().hex[:8]}"
    approval = (Path(__file__).parent / "data" / "approval.bpmn").read_text(encoding="utf-8")
    model = approval.replace(
        'id="approval"', f'id="{key}" camunda:candidateStarterGroups="yk_specialist"'
    )
    model = model.replace('name="Simple approval"', f'name="{key}"')
    server.api("POST", "/deployments", "analyst", files={"files": (f"{key}.bpmn", model.encode())})

    ui.sign_in("clerk")
    page = ui.page
    page.get_by_role("link", name="新建申请").click()
    choices = page.get_by_label("流程").locator("option")
    choices.first.wait_for(state="attached")
    offered = choices.all_inner_texts()
    assert "现行业扩报装" in offered and key not in offered

    ui.sign_out()
    ui.sign_in("specialist")
    page.get_by_role("link", name="新建申请").click()
    page.get_by_label("流程").locator("option", has_text=key).wait_for(state="attached")


def test_a_clerk_opens_a_case_without_asking_for_its_incidents(ui: Ui, server: Server) -> None:
    """GET /incidents is for supervisors, analysts, workers and admins: the case page asked it
    for every user, and a clerk's page logged its 403. A clerk's page asks nothing it refuses,
    and still shows the case; a supervisor's page asks for the case's incidents."""
    key, started = apply(server)
    refused: list[str] = []
    asked: list[str] = []
    ui.page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    ui.page.on("request", lambda r: asked.append(r.url) if "/api/v1/incidents" in r.url else None)
    ui.sign_in("clerk")
    page = ui.page
    ui.goto(f"/ui/cases/{started['id']}")
    page.get_by_role("heading", name=key).wait_for()
    page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
    page.get_by_test_id("history").wait_for()
    page.wait_for_load_state("networkidle")
    assert refused == [] and asked == []

    ui.sign_out()
    ui.sign_in("leader")
    ui.goto(f"/ui/cases/{started['id']}")
    page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
    page.wait_for_load_state("networkidle")
    assert refused == []
    if server.offers("get", "/api/v1/incidents", "process_instance_id"):
        assert len(asked) == 1 and f"process_instance_id={started['id']}" in asked[0]


def test_a_bookmarked_task_that_has_ended_says_so_and_links_its_case(
    ui: Ui, server: Server
) -> None:
    """Reloading the page of a task already completed showed only "出错了 (409): task … already
    ended …". It says the task has ended, by whom and when, and links the case."""
    key, started = apply(server)
    task = started["tasks"][0]["id"]
    accept(server, started)
    ui.sign_in("clerk")
    page = ui.page
    ui.goto(f"/ui/tasks/{task}")
    ended = page.get_by_test_id("task-ended")
    ended.get_by_role("heading", name="此任务已办结").wait_for()
    assert "由 clerk 于" in ended.inner_text() and "受理用电申请" in ended.inner_text()
    assert page.locator(".error").count() == 0 and "already ended" not in ended.inner_text()
    ui.shot("task-ended")
    ended.get_by_role("link", name="查看案件").click()
    page.wait_for_url(f"**/ui/cases/{started['id']}")
    page.get_by_role("heading", name=key).wait_for()

    page.get_by_label("语言").select_option("en")
    ui.goto(f"/ui/tasks/{task}")
    page.get_by_test_id("task-ended").get_by_role("heading", name="This task has ended").wait_for()
    assert "Completed by clerk on" in page.get_by_test_id("task-ended").inner_text()


def inbox_fits_a_phone(ui: Ui, key: str) -> None:
    """At 390 px nothing is wider than the screen and the row's action is in view."""
    page = ui.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    claim = ui.inbox(key).first.get_by_role("button", name="认领")
    claim.scroll_into_view_if_needed()
    box = claim.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # A task's name wraps by words, not one character a line.
    name = ui.inbox(key).first.get_by_role("link", name="受理用电申请")
    assert name.bounding_box()["height"] < 40  # type: ignore[index]


def test_the_inbox_and_a_case_fit_a_phone(browser: Any, server: Server) -> None:
    """At a phone's 390 px the inbox was 485 px wide (处理人 and 认领 off-screen, task names one
    character a line) and a case page 466 px. The inbox's rows become cards; the case's parts
    stack."""
    from workspace_browser import ARTIFACTS

    key, started = apply(server)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        ui = Ui(context.new_page(), server.url, ARTIFACTS / "phone", set())
        ui.page.set_default_timeout(15_000)
        ui.sign_in("clerk")
        ui.inbox(key).first.wait_for()
        inbox_fits_a_phone(ui, key)
        ui.shot("01-inbox")
        ui.goto(f"/ui/cases/{started['id']}")
        ui.page.locator("[data-testid=diagram][data-loaded=true]").wait_for()
        ui.page.get_by_test_id("history").wait_for()
        assert ui.page.evaluate("document.documentElement.scrollWidth") <= 390
        ui.shot("02-case")
        ui.page.go_back()
        ui.inbox(key).first.get_by_role("button", name="认领").click()
        ui.page.get_by_test_id("assignee").get_by_text("clerk").wait_for()
        assert ui.page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_a_new_application_puts_the_keyboard_on_the_first_missing_field_saying_required(
    ui: Ui,
) -> None:
    """Submitted with required fields empty, 新建申请 left the focus on the button, and each
    field read "应当有必需属性 '业务类型'": the focus goes to the first field in error, which
    says 必填 (is required in English)."""
    ui.sign_in("clerk")
    page = ui.page
    page.get_by_role("link", name="新建申请").click()
    page.get_by_label("流程").select_option(label="现行业扩报装")
    page.locator("#business-key").fill(f"YK-UI-{uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="提交申请").click()
    error = page.locator("#root_businessType__error")
    error.wait_for()
    assert error.inner_text().strip() == "必填"
    assert "应当有必需属性" not in page.locator("#start-form").inner_text()
    page.wait_for_function("document.activeElement.id === 'root_businessType'")
    ui.shot("required-fields")

    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="Submit application").click()
    page.locator("#root_businessType__error").get_by_text("is required").wait_for()
