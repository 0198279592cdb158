/**
 * The Python side of `npm run bench:clients`: the TF-Serving-compatible server (server.py) and the
 * official Python client (python_client.py), as child processes of the benchmark.
 *
 * Both run with the virtualenv's python (.venv, or ML_PLATFORM_PYTHON), which needs TensorFlow CPU
 * (examples/linear/requirements.txt) and the bench's pins (bench/clients/requirements.txt, installed
 * with --no-deps: tensorflow-serving-api requires the `tensorflow` distribution, and the CPU build is
 * installed as `tensorflow-cpu`).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";

/** The repository root: found upwards from this file, so the same code runs from bench/ and dist/bench/. */
export function benchRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "bench", "clients", "server.py"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`bench/clients/server.py not found above ${__dirname}`);
  }
}

export const SETUP_HINT =
  "set up the benchmark's Python with `python3 -m venv .venv && .venv/bin/pip install -r examples/linear/requirements.txt && " +
  ".venv/bin/pip install --no-deps -r bench/clients/requirements.txt` (or set ML_PLATFORM_PYTHON to a python that has them)";

export function benchPython(): string {
  return path.resolve(process.env["ML_PLATFORM_PYTHON"] ?? path.join(benchRoot(), ".venv", "bin", "python"));
}

const QUIET = { TF_CPP_MIN_LOG_LEVEL: "2", PYTHONUNBUFFERED: "1" };

/** CPU seconds (user + system, every thread) a process has used so far; undefined where /proc is missing. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the ")" that ends the command name: state is field 3, utime 14 and stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** A python child whose stdout is read line by line. */
class PythonChild {
  readonly stderrTail: string[] = [];
  private readonly lines: Interface;
  private readonly waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  private readonly buffered: string[] = [];
  private exited: Error | undefined;

  constructor(
    readonly name: string,
    readonly process: ChildProcessWithoutNullStreams,
  ) {
    this.lines = createInterface({ input: process.stdout });
    this.lines.on("line", (line) => {
      const next = this.waiting.shift();
      if (next) next.resolve(line);
      else this.buffered.push(line);
    });
    process.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail.push(...chunk.toString().split("\n").filter(Boolean));
      this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - 30));
    });
    process.stdin.on("error", () => undefined); // EPIPE after an early exit is reported by "exit"
    process.on("exit", (code, signal) => {
      this.exited = new Error(`${name} exited (${signal ?? `code ${code}`}):\n${this.stderrTail.join("\n")}`);
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.exited);
    });
  }

  nextLine(): Promise<string> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Closes stdin (both scripts stop on EOF) and waits for the exit; kills after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.stdin.end();
    const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

function spawnPython(name: string, script: string, args: string[]): PythonChild {
  const python = benchPython();
  if (!existsSync(python)) throw new Error(`${python} not found: ${SETUP_HINT}`);
  const child = spawn(python, [path.join(benchRoot(), "bench", "clients", script), ...args], {
    env: { ...process.env, ...QUIET },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new PythonChild(name, child);
}

async function firstLine(child: PythonChild, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${child.name} did not start within ${timeoutMs / 1000} s:\n${child.stderrTail.join("\n")}`)), timeoutMs);
  });
  try {
    return await Promise.race([child.nextLine(), timeout]);
  } catch (error) {
    await child.stop(1_000);
    const text = error instanceof Error ? error.message : String(error);
    throw new Error(/ModuleNotFoundError|No module named/.test(text) ? `${text}\n${SETUP_HINT}` : text);
  } finally {
    clearTimeout(timer);
  }
}

export interface BenchServer {
  /** "127.0.0.1:<port>" */
  endpoint: string;
  pid: number;
  /** The server's CPU seconds so far (all threads). */
  cpuSeconds(): number | undefined;
  close(): Promise<void>;
}

/** Starts server.py and waits until it listens (exporting and loading the SavedModels takes a few seconds). */
export async function startBenchServer(options: { workers?: number; startTimeoutMs?: number } = {}): Promise<BenchServer> {
  const child = spawnPython("the benchmark server (bench/clients/server.py)", "server.py", ["--workers", String(options.workers ?? 16)]);
  const ready = await firstLine(child, options.startTimeoutMs ?? 180_000);
  const match = /^READY (\d+)$/.exec(ready);
  if (!match) {
    await child.stop(1_000);
    throw new Error(`unexpected first line from the benchmark server: ${ready}`);
  }
  const pid = child.process.pid!;
  return { endpoint: `127.0.0.1:${match[1]}`, pid, cpuSeconds: () => processCpuSeconds(pid), close: () => child.stop() };
}

export interface SmallSequentialResult {
  latenciesUs: number[];
  wallSeconds: number;
  cpuSeconds: number;
}

export interface InFlightResult {
  wallSeconds: number;
  cpuSeconds: number;
}

export interface LargeResult {
  seconds: number[];
  cpuSeconds: number;
}

export interface PythonClient {
  versions: { grpcio: string; tensorflow: string };
  smallSequential(calls: number): Promise<SmallSequentialResult>;
  smallInFlight(calls: number, inFlight: number): Promise<InFlightResult>;
  large(calls: number, bytes: number): Promise<LargeResult>;
  close(): Promise<void>;
}

/** Starts python_client.py connected to `endpoint`; each method runs one measurement there. */
export async function startPythonClient(endpoint: string, options: { startTimeoutMs?: number } = {}): Promise<PythonClient> {
  const child = spawnPython("the Python client (bench/clients/python_client.py)", "python_client.py", [endpoint]);
  const hello = JSON.parse(await firstLine(child, options.startTimeoutMs ?? 180_000)) as { grpcio: string; tensorflow: string };
  const ask = async <T>(command: Record<string, unknown>): Promise<T> => {
    child.process.stdin.write(`${JSON.stringify(command)}\n`);
    return JSON.parse(await child.nextLine()) as T;
  };
  return {
    versions: { grpcio: hello.grpcio, tensorflow: hello.tensorflow },
    async smallSequential(calls) {
      const r = await ask<{ latencies_us: number[]; wall_s: number; cpu_s: number }>({ op: "small_sequential", calls });
      return { latenciesUs: r.latencies_us, wallSeconds: r.wall_s, cpuSeconds: r.cpu_s };
    },
    async smallInFlight(calls, inFlight) {
      const r = await ask<{ wall_s: number; cpu_s: number }>({ op: "small_in_flight", calls, in_flight: inFlight });
      return { wallSeconds: r.wall_s, cpuSeconds: r.cpu_s };
    },
    async large(calls, bytes) {
      const r = await ask<{ seconds: number[]; cpu_s: number }>({ op: "large", calls, bytes });
      return { seconds: r.seconds, cpuSeconds: r.cpu_s };
    },
    close: () => child.stop(),
  };
}
