/**
 * docs/client-performance.md against the code: its table of transport defaults is DEFAULT_CHANNEL_OPTIONS, its table
 * of request buffer pool defaults DEFAULT_SEND_BUFFER_POOL.
 * (Its TypeScript examples compile with every other docs example: test/docs/.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHANNEL_OPTIONS } from "../../client/client";
import { DEFAULT_SEND_BUFFER_POOL } from "../../client/send-buffer-pool";

const ROOT = path.resolve(__dirname, "../..");
const DOC = readFileSync(path.join(ROOT, "docs/client-performance.md"), "utf8");

describe("docs/client-performance.md", () => {
  it("lists every default channel option with its value", () => {
    const rows = [...DOC.matchAll(/^\| `(grpc[\w.-]+)` \| `(-?\d+)`/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(DEFAULT_CHANNEL_OPTIONS);
  });

  it("lists every sendBufferPool default with its value", () => {
    const rows = [...DOC.matchAll(/^\| `(maxBytes|minBytes|idleMs)` \| `(\d+)`/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(DEFAULT_SEND_BUFFER_POOL);
  });
});
