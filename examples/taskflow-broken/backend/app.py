"""The broken twin's backend: serves tasks, but has no /health and ignores DATABASE_URL."""

from fastapi import FastAPI

app = FastAPI(title="taskflow-broken")


@app.get("/api/tasks")
def list_tasks() -> list[dict]:
    return []
