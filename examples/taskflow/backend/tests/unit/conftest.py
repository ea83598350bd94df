"""Unit tests run the real app against an in-memory repository: no database needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.models import Task, TaskCreate, TaskUpdate
from app.repository import DatabaseUnavailable


class InMemoryTaskRepository:
    def __init__(self) -> None:
        self.tasks: dict[int, Task] = {}
        self.next_id = 1
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise DatabaseUnavailable("database unavailable")

    def ping(self) -> None:
        self._check()

    def list(self) -> list[Task]:
        self._check()
        return [self.tasks[key] for key in sorted(self.tasks)]

    def create(self, new: TaskCreate) -> Task:
        self._check()
        task = Task(id=self.next_id, title=new.title, done=False, created_at=datetime.now(UTC))
        self.tasks[task.id] = task
        self.next_id += 1
        return task

    def get(self, task_id: int) -> Task | None:
        self._check()
        return self.tasks.get(task_id)

    def update(self, task_id: int, changes: TaskUpdate) -> Task | None:
        self._check()
        task = self.tasks.get(task_id)
        if task is None:
            return None
        updated = task.model_copy(update=changes.model_dump(exclude_none=True))
        self.tasks[task_id] = updated
        return updated

    def delete(self, task_id: int) -> bool:
        self._check()
        return self.tasks.pop(task_id, None) is not None


@pytest.fixture
def repository() -> InMemoryTaskRepository:
    return InMemoryTaskRepository()


@pytest.fixture
def client(repository: InMemoryTaskRepository) -> Iterator[TestClient]:
    with TestClient(create_app(repository)) as test_client:
        yield test_client
