/**
 * Running the tools the commands drive (pulumi, kubectl, npm): captured for what the commands read,
 * streamed for what the user watches, in the background for port-forwards. A tool that is not installed
 * becomes a PrerequisiteError that says how to install it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Writable } from "node:stream";
import { PrerequisiteError, StepFailedError } from "./errors";

/** Where the commands write, and whether the tools they start may use the terminal themselves. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
  /**
   * Streamed tools (pulumi up, destroy, the smoke suite) share the terminal, so Pulumi shows its
   * interactive progress. Off in tests, where their output is copied to `stdout`/`stderr` instead.
   */
  inheritStdio: boolean;
}

export interface ToolOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

let interrupted = false;

/**
 * Ctrl-C reaches the tools we run (same process group) and they stop on their own, Pulumi after cancelling
 * cleanly; the commands then fail with their exit status. Afterwards no further tool is started.
 */
export function markInterrupted(): void {
  interrupted = true;
}

function refuseWhenInterrupted(command: string): void {
  if (interrupted) throw new StepFailedError(`interrupted; not starting ${command}`);
}

const INSTALL_HINTS: Record<string, string> = {
  pulumi: "Install the Pulumi CLI 3.x (https://www.pulumi.com/docs/iac/download-install/, e.g. `curl -fsSL https://get.pulumi.com | sh` or `brew install pulumi/tap/pulumi`); no Pulumi Cloud account is needed.",
  kubectl: "Install kubectl (https://kubernetes.io/docs/tasks/tools/); Docker Desktop and minikube bring one.",
  npm: "Install Node.js 22 with npm.",
};

/** "<tool> was not found on PATH", with how to install it. */
export function notFoundMessage(command: string): string {
  return `${command} was not found on PATH. ${INSTALL_HINTS[command] ?? ""}`.trim();
}

/** Whether an executable named `command` is in one of PATH's folders (as spawn would find it). */
export function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function notInstalled(command: string, error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") {
    return new PrerequisiteError(notFoundMessage(command), { cause: error });
  }
  return error as Error;
}

/** Runs a tool and collects its output; resolves with its exit code, rejects only when it cannot start. */
export function capture(command: string, args: readonly string[], options: ToolOptions): Promise<Captured> {
  refuseWhenInterrupted(command);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (error) => reject(notInstalled(command, error)));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Runs a tool whose output the user watches; resolves with its exit code. */
export function stream(command: string, args: readonly string[], options: ToolOptions & { io: Io }): Promise<number> {
  refuseWhenInterrupted(command);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: options.env, cwd: options.cwd, stdio: options.io.inheritStdio ? ["inherit", "inherit", "inherit"] : ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => options.io.stdout.write(d));
    child.stderr?.on("data", (d: Buffer) => options.io.stderr.write(d));
    child.on("error", (error) => reject(notInstalled(command, error)));
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** A long-running tool (a port-forward) and the output it has written so far. */
export interface Background {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export function background(command: string, args: readonly string[], options: ToolOptions): Background {
  refuseWhenInterrupted(command);
  const child = spawn(command, [...args], { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number>((resolve) => {
    child.on("error", (error) => {
      output += `${notInstalled(command, error).message}\n`;
      resolve(127);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return {
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
