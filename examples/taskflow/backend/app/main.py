"""The HTTP API. Run with: uvicorn --factory app.main:app_from_env"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.models import Task, TaskCreate, TaskUpdate
from app.repository import DatabaseUnavailable, PostgresTaskRepository, TaskRepository
from app.settings import ConfigError, Settings

# uvicorn configures this logger, so our lines share its format and stream.
log = logging.getLogger("uvicorn.error")


def create_app(repository: TaskRepository) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ensure_schema = getattr(repository, "ensure_schema", None)
        if ensure_schema is not None:
            try:
                await run_in_threadpool(ensure_schema)
            except DatabaseUnavailable:
                # Start anyway: /health says 503 until the database answers (contract probe).
                log.warning("taskflow: database unreachable at startup; /health answers 503")
        yield

    app = FastAPI(title="taskflow", version="1.0.0", lifespan=lifespan)

    @app.exception_handler(DatabaseUnavailable)
    async def database_down(_: Request, __: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse({"detail": "database unavailable"}, status_code=503)

    @app.get("/health")
    def health() -> JSONResponse:
        try:
            repository.ping()
        except DatabaseUnavailable:
            return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "healthy"})

    @app.get("/api/tasks")
    def list_tasks() -> list[Task]:
        return repository.list()

    @app.post("/api/tasks", status_code=status.HTTP_201_CREATED)
    def create_task(new: TaskCreate) -> Task:
        return repository.create(new)

    @app.get("/api/tasks/{task_id}")
    def get_task(task_id: int) -> Task:
        return _found(repository.get(task_id), task_id)

    @app.patch("/api/tasks/{task_id}")
    def update_task(task_id: int, changes: TaskUpdate) -> Task:
        return _found(repository.update(task_id, changes), task_id)

    @app.delete("/api/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_task(task_id: int) -> Response:
        if not repository.delete(task_id):
            raise HTTPException(status_code=404, detail=f"task {task_id} not found")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return app


def _found(task: Task | None, task_id: int) -> Task:
    if task is None:
        raise HTTPException(status_code=404, detail=f"task {task_id} not found")
    return task


def app_from_env() -> FastAPI:
    """uvicorn's --factory entry point: a bad environment stops the process in one line."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"taskflow: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return create_app(
        PostgresTaskRepository(
            settings.database_url, connect_timeout_seconds=settings.connect_timeout_seconds
        )
    )
