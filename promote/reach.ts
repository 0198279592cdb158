/**
 * How the smoke suite reaches a stack's endpoints. The targets name in-cluster Service addresses
 * (`<service>.<namespace>.svc.cluster.local:8500`), which resolve only inside that cluster:
 *
 * - `directReach`: dial them as they are (the command runs inside the cluster's network).
 * - `portForwardReach`: one `kubectl port-forward service/<service>` per endpoint, in the stack's
 *   kubeconfig context, opened for each smoke run and closed after it. A port-forward is bound to one
 *   pod and ends with it, so it is opened afresh after every `up`; the endpoints' pods are then not
 *   checked one by one (pod addresses are not reachable through it), only the Services.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { SmokeEndpoint, SmokeTargets } from "../contracts/smoke-targets";

export interface OpenReach {
  /** Endpoint name -> the HOST:PORT to dial instead of its `grpc` address. */
  endpointAddresses: Record<string, string>;
  close(): Promise<void>;
}

export interface Reach {
  /** For messages: "direct", "kubectl port-forward". */
  readonly description: string;
  open(stack: string, targets: SmokeTargets, progress: (line: string) => void): Promise<OpenReach>;
}

/** Why the endpoints could not be reached; the smoke run then reports it as its error. */
export class ReachError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReachError";
  }
}

export const directReach: Reach = {
  description: "direct",
  open: async () => ({ endpointAddresses: {}, close: async () => undefined }),
};

export interface ServiceAddress {
  service: string;
  namespace: string;
  port: number;
}

const DNS_LABEL = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?";
const SERVICE_ADDRESS = new RegExp(`^(${DNS_LABEL})\\.(${DNS_LABEL})\\.svc(?:\\.[A-Za-z0-9.-]+)?:(\\d{1,5})$`);

/** "linear-serving.ml.svc.cluster.local:8500" -> { service: "linear-serving", namespace: "ml", port: 8500 } */
export function serviceAddress(grpc: string): ServiceAddress | undefined {
  const match = SERVICE_ADDRESS.exec(grpc);
  return match ? { service: match[1]!, namespace: match[2]!, port: Number(match[3]) } : undefined;
}

/** kubectl's arguments for a port-forward to a Service on a free local port of 127.0.0.1. */
export function portForwardArgs(context: string, address: ServiceAddress): string[] {
  return ["--context", context, "--namespace", address.namespace, "port-forward", `service/${address.service}`, `:${address.port}`, "--address", "127.0.0.1"];
}

/** The local port of kubectl's "Forwarding from 127.0.0.1:41234 -> 8500" line. */
export function forwardedPort(line: string): number | undefined {
  const match = /^Forwarding from 127\.0\.0\.1:(\d{1,5}) -> \d+/.exec(line.trim());
  return match ? Number(match[1]) : undefined;
}

export interface PortForwardOptions {
  /** The kubeconfig context of a stack's cluster. */
  context(stack: string): string;
  /** The kubectl command (and leading arguments). @default ["kubectl"] */
  command?: readonly string[];
  /** How long kubectl may take to start forwarding. @default 60000 */
  readyTimeoutMs?: number;
}

interface Forward {
  endpoint: string;
  child: ChildProcess;
  address: string;
}

async function stop(child: ChildProcess): Promise<void> {
  // never started (e.g. not found), or already gone
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
}

function startForward(options: PortForwardOptions, stack: string, endpoint: SmokeEndpoint): Promise<Forward> {
  const address = serviceAddress(endpoint.grpc);
  if (!address) {
    return Promise.reject(new ReachError(`endpoint ${endpoint.name}: cannot port-forward to ${endpoint.grpc}: not a Kubernetes Service address (<service>.<namespace>.svc...:PORT)`));
  }
  const [command, ...leading] = options.command ?? ["kubectl"];
  const args = [...leading, ...portForwardArgs(options.context(stack), address)];
  const shown = `kubectl ${portForwardArgs(options.context(stack), address).join(" ")}`;
  return new Promise<Forward>((resolve, reject) => {
    const child = spawn(command!, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop(child).then(() => reject(new ReachError(`endpoint ${endpoint.name}: \`${shown}\` ${reason}`)));
    };
    const timer = setTimeout(() => fail(`did not start forwarding within ${(options.readyTimeoutMs ?? 60_000) / 1000} s${stderr ? `: ${stderr.trim()}` : ""}`), options.readyTimeoutMs ?? 60_000);
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error: NodeJS.ErrnoException) => fail(error.code === "ENOENT" ? `failed: ${command} was not found on PATH` : `failed: ${error.message}`));
    child.on("exit", (code, signal) => fail(`exited with ${code ?? signal} before forwarding${stderr ? `: ${stderr.trim()}` : ""}`));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const port = forwardedPort(line);
      if (port === undefined || settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ endpoint: endpoint.name, child, address: `127.0.0.1:${port}` });
    });
  });
}

export function portForwardReach(options: PortForwardOptions): Reach {
  return {
    description: "kubectl port-forward",
    async open(stack, targets, progress) {
      const started = await Promise.allSettled(targets.endpoints.map((endpoint) => startForward(options, stack, endpoint)));
      const forwards = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      const close = async () => {
        await Promise.all(forwards.map((f) => stop(f.child)));
      };
      const failures = started.flatMap((s) => (s.status === "rejected" ? [s.reason as Error] : []));
      if (failures.length) {
        await close();
        throw new ReachError(failures.map((f) => f.message).join("; "));
      }
      for (const f of forwards) progress(`endpoint ${f.endpoint}: port-forwarded to ${f.address} (${stack}, context ${options.context(stack)})`);
      return { endpointAddresses: Object.fromEntries(forwards.map((f) => [f.endpoint, f.address])), close };
    },
  };
}
