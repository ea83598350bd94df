# Shipped into the image on purpose (COPY . /app): tests do not belong in a runtime image.
from app import app
from fastapi.testclient import TestClient


def test_list_tasks() -> None:
    assert TestClient(app).get("/api/tasks").json() == []
