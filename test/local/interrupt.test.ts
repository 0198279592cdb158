/**
 * After Ctrl-C (bin.ts marks it), the commands start no further tool. A file of its own: the mark is
 * process-wide, and vitest runs each test file in its own process.
 */
import { afterEach, expect, it } from "vitest";
import { markInterrupted } from "../../local/processes";
import { type Sandbox, sandbox } from "./local-tools";

let box: Sandbox | undefined;
afterEach(() => box?.cleanup());

it("starts no tool once interrupted, and fails naming the step it did not start", async () => {
  box = sandbox();
  markInterrupted();
  const result = await box.run(["up"]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/local:up: error: interrupted; not starting pulumi/);
  expect(box.calls()).toEqual([]);
});
