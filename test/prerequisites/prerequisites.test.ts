import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AWS_CLI, run } from "../harness/s3-server";
import { awsCliPath, DEFAULT_AWS_CLI, missingTestPrerequisites } from "./prerequisites";

const REPO_ROOT = path.resolve(__dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "prerequisites-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeTool(folder: string, name: string): string {
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, name);
  writeFileSync(file, "#!/bin/sh\nexit 0\n");
  chmodSync(file, 0o755);
  return file;
}

describe("the tools npm test needs", () => {
  it("finds protoc and openssl on PATH and the AWS CLI where ML_PLATFORM_AWS_CLI says", () => {
    const bin = path.join(dir, "bin");
    fakeTool(bin, "protoc");
    fakeTool(bin, "openssl");
    fakeTool(bin, "go");
    const aws = fakeTool(path.join(dir, "elsewhere"), "aws");
    expect(missingTestPrerequisites({ PATH: bin, ML_PLATFORM_AWS_CLI: aws })).toEqual([]);
    // A SeaweedFS `weed` of one's own needs no build, but Go still reads the Kueue CRDs and Kubernetes' roles.
    const weed = fakeTool(path.join(dir, "seaweedfs"), "weed");
    expect(missingTestPrerequisites({ PATH: bin, ML_PLATFORM_AWS_CLI: aws, SEAWEEDFS_WEED: weed })).toEqual([]);
    const withoutGo = path.join(dir, "bin-without-go");
    fakeTool(withoutGo, "protoc");
    fakeTool(withoutGo, "openssl");
    expect(missingTestPrerequisites({ PATH: withoutGo, ML_PLATFORM_AWS_CLI: aws, SEAWEEDFS_WEED: weed })).toEqual([
      "Go is not on PATH: the tests read Kueue's CRDs and Kubernetes' built-in roles from their Go modules (`go mod download`, cached; the Go module proxy the first time). Install Go (https://go.dev/doc/install; Debian/Ubuntu `sudo apt-get install golang`).",
    ]);
  });

  it("names every missing one at once, each with how to install it", () => {
    const problems = missingTestPrerequisites({ PATH: path.join(dir, "empty"), ML_PLATFORM_AWS_CLI: path.join(dir, "no", "aws") });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^protoc .* is not on PATH: .* Debian\/Ubuntu `sudo apt-get install protobuf-compiler`, macOS `brew install protobuf`\.$/);
    expect(problems[1]).toMatch(new RegExp(`^the AWS CLI v2 is not at ${path.join(dir, "no", "aws")}: .*sudo apt-get install awscli.*then set ML_PLATFORM_AWS_CLI=<path of that aws>\\.$`));
    expect(problems[2]).toMatch(/^openssl is not on PATH: .*sudo apt-get install openssl/);
    expect(problems[3]).toMatch(/^Go is not on PATH: the tests read Kueue's CRDs .* the model sync's tests run SeaweedFS's weed, .*\(or set SEAWEEDFS_WEED=<path of a weed>\)\. Install Go/);
    expect(missingTestPrerequisites({ PATH: path.join(dir, "empty"), ML_PLATFORM_AWS_CLI: path.join(dir, "no", "aws"), SEAWEEDFS_WEED: path.join(dir, "no", "weed") })[3]).toMatch(/^SEAWEEDFS_WEED names .*no\/weed, which is not an executable/);
  });

  it("the pretest script stops npm test with that list (exit 1) before any test runs", async () => {
    const env = { PATH: path.dirname(process.execPath), ML_PLATFORM_AWS_CLI: path.join(dir, "no", "aws"), HOME: dir };
    const tsNode = path.join(REPO_ROOT, "node_modules", "ts-node", "dist", "bin.js");
    const result = await run(process.execPath, [tsNode, "--transpile-only", path.join(__dirname, "check.ts")], { env, cwd: REPO_ROOT, timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^npm test: 4 prerequisite\(s\) missing \(\.ci\/run installs them all\):\n {2}- protoc [^\n]*\n {2}- the AWS CLI v2 [^\n]*\n {2}- openssl [^\n]*\n {2}- Go is not on PATH[^\n]*\n$/);
  }, 30_000);

  it("the AWS CLI path is overridable: ML_PLATFORM_AWS_CLI, else Debian's /usr/bin/aws", () => {
    expect(awsCliPath({})).toBe(DEFAULT_AWS_CLI);
    expect(awsCliPath({ ML_PLATFORM_AWS_CLI: "/opt/aws/bin/aws" })).toBe("/opt/aws/bin/aws");
    // the harness runs the one this process was given
    expect(AWS_CLI).toBe(awsCliPath(process.env));
  });
});
