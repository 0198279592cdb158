import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AWS_CLI, run, type S3TestServer, startS3Server } from "./s3-server";

describe("S3 test server with the Debian AWS CLI", () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server("models");
  });
  afterAll(async () => s3?.close());

  it("is AWS CLI v2", async () => {
    const result = await run(AWS_CLI, ["--version"]);
    expect(result.stdout + result.stderr).toMatch(/^aws-cli\/2\./);
  });

  it("round-trips a recursive upload, prefix listings and a download", async () => {
    const dir = mkdtempSync(join(tmpdir(), "upload-"));
    mkdirSync(join(dir, "variables"));
    writeFileSync(join(dir, "saved_model.pb"), "graph");
    writeFileSync(join(dir, "variables", "variables.index"), "index");
    const up = await s3.aws(["s3", "cp", "--recursive", "--only-show-errors", dir, "s3://models/models/linear/1/"]);
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    await s3.put("models/linear/1/_SUCCESS", "");
    expect(await s3.keys("models/linear/")).toEqual(["models/linear/1/_SUCCESS", "models/linear/1/saved_model.pb", "models/linear/1/variables/variables.index"]);

    const ls = await s3.aws(["s3", "ls", "s3://models/models/linear/"]);
    expect(ls.stdout).toMatch(/PRE 1\//);

    const out = mkdtempSync(join(tmpdir(), "download-"));
    const down = await s3.aws(["s3", "cp", "--recursive", "--only-show-errors", "s3://models/models/linear/1/", out]);
    expect(down.code).toBe(0);
    const cat = await run("cat", [join(out, "variables", "variables.index")]);
    expect(cat.stdout).toBe("index");
  });
});
