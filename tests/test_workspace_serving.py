"""The service serves the web workspace at /ui and Swagger UI at /docs from local files only,
and tells a client who its caller is (GET /me)."""

from __future__ import annotations

import re

from conftest import Api


def test_me_names_the_user_their_groups_and_what_they_allow(api: Api) -> None:
    clerk = api.get("/me", "clerk").json()
    assert clerk["user_id"] == "clerk"
    assert clerk["groups"] == ["hall_clerk"]
    assert not any(clerk["roles"].values())
    admin = api.get("/me", "admin").json()
    assert admin["groups"] == ["admin", "analyst", "supervisor"]
    assert all(admin["roles"][r] for r in ("admin", "analyst", "supervisor", "analytics"))
    leader = api.get("/me", "leader").json()["roles"]
    assert leader["supervisor"] and leader["analytics"] and not leader["analyst"]
    assert api.get("/me", None).status_code == 401


def test_root_leads_to_the_workspace_and_client_routes_answer_its_page(api: Api) -> None:
    root = api.client.get("/", follow_redirects=False)
    assert root.status_code == 307
    assert root.headers["location"] == "/ui/"
    page = api.client.get("/ui/")
    assert page.status_code == 200
    assert '<div id="root">' in page.text
    # A client-side route (a bookmark of a case page) answers the same page ...
    assert api.client.get("/ui/cases/some-case").text == page.text
    # ... but a missing asset is a 404, not the page.
    assert api.client.get("/ui/assets/missing.js").status_code == 404
    for asset in re.findall(r'(?:src|href)="(/ui/[^"]+)"', page.text):
        assert api.client.get(asset).status_code == 200, asset


def test_docs_load_swagger_ui_from_the_service_itself(api: Api) -> None:
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", docs.text)
    assert urls, docs.text
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the service"
        assert api.client.get(url).status_code == 200, url
    assert api.client.get("/redoc").status_code == 404
