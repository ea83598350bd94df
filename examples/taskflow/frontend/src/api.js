// The backend's task API, reached through the same origin's /api (nginx proxies it).

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function createApi(fetchImpl = globalThis.fetch.bind(globalThis), base = "/api") {
  async function request(method, path, body) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetchImpl(`${base}${path}`, init);
    if (!response.ok) {
      throw new ApiError(await describeFailure(response), response.status);
    }
    return response.status === 204 ? null : response.json();
  }

  return {
    listTasks: () => request("GET", "/tasks"),
    createTask: (title) => request("POST", "/tasks", { title }),
    setDone: (id, done) => request("PATCH", `/tasks/${id}`, { done }),
    deleteTask: (id) => request("DELETE", `/tasks/${id}`),
  };
}

async function describeFailure(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // Not JSON (a proxy's error page, say): the status line says enough.
  }
  return `request failed: ${response.status} ${response.statusText}`.trim();
}
