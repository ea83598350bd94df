from __future__ import annotations

from fastapi.testclient import TestClient


def test_health_is_healthy_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_health_is_503_when_the_database_is_down(client: TestClient, repository) -> None:
    repository.down = True
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


def test_api_answers_503_not_500_when_the_database_is_down(client: TestClient, repository) -> None:
    repository.down = True
    response = client.get("/api/tasks")
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable"}


def test_create_then_list(client: TestClient) -> None:
    created = client.post("/api/tasks", json={"title": "  write the contract  "})
    assert created.status_code == 201
    body = created.json()
    assert body["title"] == "write the contract"
    assert body["done"] is False
    listed = client.get("/api/tasks").json()
    assert [task["id"] for task in listed] == [body["id"]]


def test_update_marks_done_and_keeps_title(client: TestClient) -> None:
    task_id = client.post("/api/tasks", json={"title": "ship it"}).json()["id"]
    response = client.patch(f"/api/tasks/{task_id}", json={"done": True})
    assert response.status_code == 200
    assert response.json()["done"] is True
    assert response.json()["title"] == "ship it"


def test_delete_then_get_is_404(client: TestClient) -> None:
    task_id = client.post("/api/tasks", json={"title": "temporary"}).json()["id"]
    assert client.delete(f"/api/tasks/{task_id}").status_code == 204
    assert client.get(f"/api/tasks/{task_id}").status_code == 404
    assert client.delete(f"/api/tasks/{task_id}").status_code == 404


def test_blank_or_overlong_titles_are_rejected(client: TestClient) -> None:
    assert client.post("/api/tasks", json={"title": "   "}).status_code == 422
    assert client.post("/api/tasks", json={"title": "x" * 201}).status_code == 422
    assert client.post("/api/tasks", json={"title": "ok", "owner": "me"}).status_code == 422


def test_unknown_task_is_404(client: TestClient) -> None:
    assert client.get("/api/tasks/999").status_code == 404
    assert client.patch("/api/tasks/999", json={"done": True}).status_code == 404
