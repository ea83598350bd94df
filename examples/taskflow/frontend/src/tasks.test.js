import { describe, expect, it } from "vitest";
import { MAX_TITLE, normalizeTitle, orderTasks, summarize } from "./tasks.js";

describe("normalizeTitle", () => {
  it("trims and collapses whitespace", () => {
    expect(normalizeTitle("  write   the  tests ")).toBe("write the tests");
  });
  it("refuses blank and overlong titles", () => {
    expect(normalizeTitle("   ")).toBeNull();
    expect(normalizeTitle(undefined)).toBeNull();
    expect(normalizeTitle("x".repeat(MAX_TITLE + 1))).toBeNull();
    expect(normalizeTitle("x".repeat(MAX_TITLE))).toHaveLength(MAX_TITLE);
  });
});

describe("orderTasks", () => {
  it("puts open tasks first, oldest first, without touching the input", () => {
    const tasks = [
      { id: 3, done: true },
      { id: 2, done: false },
      { id: 1, done: true },
      { id: 4, done: false },
    ];
    expect(orderTasks(tasks).map((task) => task.id)).toEqual([2, 4, 1, 3]);
    expect(tasks[0].id).toBe(3);
  });
});

describe("summarize", () => {
  it("counts open tasks", () => {
    expect(summarize([])).toBe("No tasks yet");
    expect(summarize([{ done: false }, { done: true }])).toBe("1 open of 2");
  });
});
