"""taskflow backend: a task list CRUD API on PostgreSQL."""
