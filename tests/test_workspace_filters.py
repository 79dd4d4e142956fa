"""The inbox's and the case search's filter forms keep what a person types while an answer is on
its way: the forms are not drawn anew for each query (that dropped the focus, and with it the keys
typed next), and a query the address changes (back, forward) updates only the fields it changes."""

from __future__ import annotations

from typing import Any

from workspace_browser import Ui


class Held:
    """Answers to the requests a route matches, held until released: a slow service."""

    def __init__(self, ui: Ui, pattern: str) -> None:
        self.ui = ui
        self.pattern = pattern
        self.routes: list[Any] = []
        ui.page.route(pattern, self.hold)

    def hold(self, route: Any) -> None:
        self.routes.append(route)

    def wait(self, count: int = 1) -> None:
        """Until `count` requests are held (the page is waiting for their answers)."""
        for _ in range(200):
            if len(self.routes) >= count:
                return
            self.ui.page.wait_for_timeout(25)
        raise AssertionError(f"no request to {self.pattern} was held")

    def release(self) -> None:
        for route in self.routes:
            route.continue_()
        self.routes.clear()
        self.ui.page.unroute(self.pattern, self.hold)


def shown(ui: Ui, testids: str, query: str) -> None:
    """Wait until the page shows the answer to the query (its data-query holds `query`)."""
    selector = ", ".join(f"[data-testid={t}][data-query*='{query}']" for t in testids.split())
    ui.page.locator(selector).first.wait_for()


def test_keys_typed_in_the_inbox_filter_while_its_answer_is_on_its_way_are_kept(ui: Ui) -> None:
    page = ui.page
    ui.sign_in("clerk")
    page.locator("[data-testid=inbox], [data-testid=inbox-empty]").first.wait_for()
    held = Held(ui, "**/api/v1/tasks?*")
    box = page.get_by_label("申请编号")
    box.click()
    page.keyboard.type("YK-1")
    page.keyboard.press("Enter")
    held.wait()
    # The answer for YK-1 is on its way; the clerk goes on typing and picks a group.
    page.keyboard.type("23")
    page.get_by_label("候选组").select_option("hall_clerk")
    assert box.input_value() == "YK-123"
    held.release()
    shown(ui, "inbox inbox-empty", "business_key=YK-1&")
    assert box.input_value() == "YK-123"
    assert page.get_by_label("候选组").input_value() == "hall_clerk"

    # Another view while a key is typed and not applied: the view changes, the key stays.
    held = Held(ui, "**/api/v1/tasks?*")
    box.fill("YK-9")
    page.get_by_role("tab", name="全部可见").click()
    held.wait()
    box.press("End")
    page.keyboard.type("9")
    held.release()
    shown(ui, "inbox inbox-empty", "view=all")
    assert box.input_value() == "YK-99"

    # Applying it, then going back: the address's query is the form's again.
    box.press("Enter")
    shown(ui, "inbox inbox-empty", "business_key=YK-99")
    assert page.get_by_label("候选组").input_value() == "hall_clerk"
    page.go_back()
    shown(ui, "inbox inbox-empty", "business_key=YK-1&")
    assert box.input_value() == "YK-1"
    assert page.get_by_label("候选组").input_value() == ""


def test_a_process_filter_in_the_address_is_shown_once_the_processes_are_loaded(ui: Ui) -> None:
    """A select drawn before its options arrive kept showing 全部 for the filter in force."""
    page = ui.page
    ui.sign_in("clerk")
    held = Held(ui, "**/api/v1/process-definitions*")
    ui.goto("/ui/inbox?process=yekuo_current")
    held.wait()
    held.release()
    page.locator("select[name=process] option[value=yekuo_current]").wait_for(state="attached")
    assert page.locator("select[name=process]").input_value() == "yekuo_current"


def test_keys_typed_in_the_case_search_while_its_answer_is_on_its_way_are_kept(ui: Ui) -> None:
    page = ui.page
    ui.sign_in("leader")
    page.get_by_role("link", name="案件").click()
    # The first answer is in: the request held next is the search's, not the page's first.
    page.locator("[data-testid=cases], [data-testid=cases-empty]").first.wait_for()
    held = Held(ui, "**/api/v1/process-instances?*")
    box = page.get_by_label("申请编号")
    box.click()
    page.keyboard.type("YK-1")
    page.keyboard.press("Enter")
    held.wait()
    page.keyboard.type("23")
    assert box.input_value() == "YK-123"
    held.release()
    shown(ui, "cases cases-empty", "business_key=YK-1")
    assert box.input_value() == "YK-123"


class SlowComputer:
    """Chromium's CPU throttled: React renders the address a submit asks for in a transition,
    and on a slow computer the keys typed right after Enter are rendered before it lands."""

    def __init__(self, ui: Ui, rate: int = 30) -> None:
        self.cdp = ui.page.context.new_cdp_session(ui.page)
        self.rate = rate

    def __enter__(self) -> None:
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.rate})

    def __exit__(self, *_: object) -> None:
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})


def typed_across_a_search(ui: Ui, testids: str, sent: str, query: str, more: str) -> str:
    """The search box after typing `sent`, Enter and `more` at once on a slow computer, once the
    answer to `query` is shown."""
    page = ui.page
    page.locator(", ".join(f"[data-testid={t}]" for t in testids.split())).first.wait_for()
    box = page.get_by_label("申请编号")
    with SlowComputer(ui):
        box.click()
        page.keyboard.type(sent)
        page.keyboard.press("Enter")
        page.keyboard.type(more)
        shown(ui, testids, query)
    return box.input_value()


def test_keys_typed_right_after_enter_are_kept_on_a_slow_computer(ui: Ui) -> None:
    """The address's copy of what was sent replaced the keys typed before it was rendered."""
    page = ui.page
    ui.sign_in("leader")
    assert typed_across_a_search(ui, "inbox inbox-empty", "YK-1", "business_key=YK-1&", "23") == (
        "YK-123"
    )
    page.get_by_role("link", name="案件").click()
    assert typed_across_a_search(ui, "cases cases-empty", "YK-4", "business_key=YK-4", "56") == (
        "YK-456"
    )

    # A field not typed in since the submit takes the address's value: the key as sent, trimmed.
    box = page.get_by_label("申请编号")
    box.fill("  YK-7  ")
    box.press("Enter")
    shown(ui, "cases cases-empty", "business_key=YK-7")
    assert box.input_value() == "YK-7"
