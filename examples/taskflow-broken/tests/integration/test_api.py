"""The task API as a client sees it: status codes and bodies, nothing of the internals."""

from __future__ import annotations

import uuid

import httpx


def unique_title(prefix: str) -> str:
    # Runs share one database: titles carry a nonce so assertions see only their own task.
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_health_reports_healthy(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_create_then_list_then_get(api: httpx.Client) -> None:
    title = unique_title("integration create")
    created = api.post("/api/tasks", json={"title": title})
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["title"] == title
    assert task["done"] is False

    listed = api.get("/api/tasks")
    assert listed.status_code == 200
    assert task["id"] in {item["id"] for item in listed.json()}

    fetched = api.get(f"/api/tasks/{task['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == task


def test_update_marks_done(api: httpx.Client) -> None:
    task = api.post("/api/tasks", json={"title": unique_title("integration update")}).json()
    updated = api.patch(f"/api/tasks/{task['id']}", json={"done": True})
    assert updated.status_code == 200
    assert updated.json()["done"] is True
    assert api.get(f"/api/tasks/{task['id']}").json()["done"] is True


def test_delete_removes_the_task(api: httpx.Client) -> None:
    task = api.post("/api/tasks", json={"title": unique_title("integration delete")}).json()
    assert api.delete(f"/api/tasks/{task['id']}").status_code == 204
    assert api.get(f"/api/tasks/{task['id']}").status_code == 404
    assert task["id"] not in {item["id"] for item in api.get("/api/tasks").json()}


def test_invalid_input_is_422_and_unknown_task_is_404(api: httpx.Client) -> None:
    assert api.post("/api/tasks", json={"title": ""}).status_code == 422
    assert api.post("/api/tasks", json={}).status_code == 422
    assert api.get("/api/tasks/987654321").status_code == 404
