// Pure task-list logic, kept apart from the DOM so unit tests need no browser.

export const MAX_TITLE = 200;

/** The title to send, or null when the input holds nothing worth sending. */
export function normalizeTitle(raw) {
  const title = String(raw ?? "").trim().replace(/\s+/g, " ");
  if (title.length === 0 || title.length > MAX_TITLE) return null;
  return title;
}

/** Open tasks first, each group oldest first: the order people expect from a to-do list. */
export function orderTasks(tasks) {
  return [...tasks].sort((a, b) => Number(a.done) - Number(b.done) || a.id - b.id);
}

export function summarize(tasks) {
  const open = tasks.filter((task) => !task.done).length;
  if (tasks.length === 0) return "No tasks yet";
  return `${open} open of ${tasks.length}`;
}
