/**
 * The tools `npm test` drives for real besides Node: protoc (TF Serving config files are parsed against
 * protos/), the AWS CLI v2 (the container scripts run with it against a local S3-protocol server),
 * openssl (throwaway certificates for the TLS tests), SeaweedFS (Go, to build it once) and Go (Kueue's CRDs and
 * Kubernetes' built-in roles come from their Go modules). `npm test` checks them first (the `pretest`
 * script) and names everything missing at once, with how to install it, instead of failing test by test.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

/** Where the tests find the AWS CLI: ML_PLATFORM_AWS_CLI, else Debian's /usr/bin/aws. */
export const AWS_CLI_ENV = "ML_PLATFORM_AWS_CLI";
export const DEFAULT_AWS_CLI = "/usr/bin/aws";

/**
 * The AWS CLI the tests run. An absolute path by default, because another `aws` (e.g. a pyenv shim)
 * may come first on PATH; point ML_PLATFORM_AWS_CLI at another AWS CLI v2 (macOS, a venv) instead.
 */
export function awsCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return env[AWS_CLI_ENV]?.trim() || DEFAULT_AWS_CLI;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && executable(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

const PROTOS = path.resolve(__dirname, "../../protos");

/** Every missing prerequisite, each with why the tests need it and how to install it. */
export function missingTestPrerequisites(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const protoc = onPath("protoc", env);
  if (!protoc) {
    problems.push(
      "protoc (the Protocol Buffers compiler) is not on PATH: the tests parse TF Serving's config files with it. " +
        "Install it: Debian/Ubuntu `sudo apt-get install protobuf-compiler`, macOS `brew install protobuf`.",
    );
  } else {
    const compiled = spawnSync(protoc, ["-I", PROTOS, "-o", "/dev/null", "tensorflow_serving/apis/prediction_service.proto"], { env, encoding: "utf8" });
    if (compiled.status !== 0) problems.push(`${protoc} cannot compile protos/: ${(compiled.stderr || String(compiled.error)).trim()}`);
  }
  const aws = awsCliPath(env);
  if (!executable(aws)) {
    problems.push(
      `the AWS CLI v2 is not at ${aws}: the tests run the container scripts with it. ` +
        "Install it: Debian/Ubuntu `sudo apt-get install awscli`; elsewhere https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html, " +
        `then set ${AWS_CLI_ENV}=<path of that aws>.`,
    );
  }
  if (!onPath("openssl", env)) {
    problems.push("openssl is not on PATH: the TLS tests make a throwaway certificate with it. Install it: Debian/Ubuntu `sudo apt-get install openssl`, macOS `brew install openssl`.");
  }
  // The model sync's tests run a real SeaweedFS server: a `weed` named by SEAWEEDFS_WEED, or one built (once,
  // cached) from the Go module proxy by test/slow/install-seaweedfs.sh, which needs Go. The Kueue and RBAC tests read
  // Kueue's CRDs and Kubernetes' built-in roles from their Go modules, which needs Go in any case.
  const weed = env.SEAWEEDFS_WEED?.trim();
  if (weed && !executable(weed)) {
    problems.push(`SEAWEEDFS_WEED names ${weed}, which is not an executable: point it at SeaweedFS's weed, or unset it to build one.`);
  }
  if (!onPath("go", env)) {
    problems.push(
      "Go is not on PATH: the tests read Kueue's CRDs and Kubernetes' built-in roles from their Go modules (`go mod download`, cached; the Go module proxy the first time)" +
        (weed ? "." : ", and the model sync's tests run SeaweedFS's weed, which test/slow/install-seaweedfs.sh builds once from the Go module proxy (or set SEAWEEDFS_WEED=<path of a weed>).") +
        " Install Go (https://go.dev/doc/install; Debian/Ubuntu `sudo apt-get install golang`).",
    );
  }
  return problems;
}

export function prerequisitesReport(problems: readonly string[]): string {
  return `npm test: ${problems.length} prerequisite(s) missing (.ci/run installs them all):\n${problems.map((p) => `  - ${p}`).join("\n")}\n`;
}
