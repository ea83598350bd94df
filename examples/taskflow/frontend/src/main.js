import "./style.css";
import { createApi } from "./api.js";
import { normalizeTitle, orderTasks, summarize } from "./tasks.js";

const api = createApi();
const form = document.querySelector("#new-task");
const input = document.querySelector("#title");
const list = document.querySelector("#tasks");
const status = document.querySelector("#status");

function renderTask(task) {
  const item = document.createElement("li");
  item.dataset.id = String(task.id);

  const label = document.createElement("label");
  const checkbox = document.createElement("input");
  checkbox.type = "checkbox";
  checkbox.checked = task.done;
  checkbox.addEventListener("change", () => run(() => api.setDone(task.id, checkbox.checked)));
  const title = document.createElement("span");
  title.textContent = task.title; // textContent: a title is never parsed as HTML
  label.append(checkbox, title);

  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", "Delete");
  remove.addEventListener("click", () => run(() => api.deleteTask(task.id)));

  item.append(label, remove);
  return item;
}

async function refresh() {
  const tasks = orderTasks(await api.listTasks());
  list.replaceChildren(...tasks.map(renderTask));
  list.dataset.state = "ready";
  status.textContent = summarize(tasks);
}

// Every change goes to the backend first; the list then shows what the backend stored.
async function run(change) {
  try {
    await change();
    await refresh();
  } catch (error) {
    list.dataset.state = "error";
    status.textContent = `Error: ${error.message}`;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const title = normalizeTitle(input.value);
  if (title === null) {
    status.textContent = "Type a task first (up to 200 characters)";
    return;
  }
  run(async () => {
    await api.createTask(title);
    input.value = "";
  });
});

run(async () => {});
