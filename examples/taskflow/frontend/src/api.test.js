import { describe, expect, it } from "vitest";
import { ApiError, createApi } from "./api.js";

function fakeFetch(responses) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    const { status = 200, body = null } = responses.shift();
    return new Response(body === null ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  };
  return { calls, fetchImpl };
}

describe("createApi", () => {
  it("posts a JSON body to /api/tasks", async () => {
    const { calls, fetchImpl } = fakeFetch([{ status: 201, body: { id: 1, title: "a" } }]);
    const task = await createApi(fetchImpl).createTask("a");
    expect(task).toEqual({ id: 1, title: "a" });
    expect(calls[0].url).toBe("/api/tasks");
    expect(calls[0].init.method).toBe("POST");
    expect(JSON.parse(calls[0].init.body)).toEqual({ title: "a" });
  });

  it("patches done and deletes by id", async () => {
    const { calls, fetchImpl } = fakeFetch([{ body: { id: 7, done: true } }, { status: 204 }]);
    const api = createApi(fetchImpl);
    await api.setDone(7, true);
    expect(await api.deleteTask(7)).toBeNull();
    expect(calls.map((call) => `${call.init.method} ${call.url}`)).toEqual([
      "PATCH /api/tasks/7",
      "DELETE /api/tasks/7",
    ]);
  });

  it("raises the backend's detail with its status", async () => {
    const { fetchImpl } = fakeFetch([{ status: 503, body: { detail: "database unavailable" } }]);
    const failure = createApi(fetchImpl).listTasks();
    await expect(failure).rejects.toThrow(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 503, message: "database unavailable" });
  });
});
