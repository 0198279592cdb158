/**
 * The real Kueue controller manager for the real-deploy suite, run outside the cluster as a process on
 * 127.0.0.1 (install-tools.sh builds it from Kueue's Go module). In the fake cluster no container runs, so the
 * Deployment Kueue's chart installs is only simulated by kwok; this process does its work instead: it watches
 * the API server through the admin kubeconfig, creates a Workload for every queued Job or JobSet, admits it when
 * its ClusterQueue's quota allows (unsuspending it), preempts, and releases quota when it finishes.
 *
 * What cannot work outside the cluster is configured away:
 * - its webhook server listens on 127.0.0.1 with the certificates Kueue's internal certificate management makes
 *   (which also writes their CA into the chart's webhook configurations and CRDs, as in a cluster). In a pod the
 *   kubelet mounts the Secret those certificates are stored in at the manager's certificate folder, and Kueue waits
 *   for them there; here the supervisor copies the Secret's files into that folder. The API server never calls the
 *   webhooks (the suite disables admission webhooks), so TrainingJob creates queued workloads suspended itself;
 * - the visibility API server is off (its APIService is not installed in the suite; an aggregated API would make the
 *   API server dial out), and so are metrics; health probes listen on 127.0.0.1; no leader election.
 *
 * The manager starts once the chart's CRDs and webhook configurations exist (during `pulumi up`), starts again if it
 * exits while they do, and is stopped when they are gone (`destroy`), so that a reinstall gets a fresh one.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Kueue's configuration (config.kueue.x-k8s.io/v1beta2) for a manager outside the cluster, on loopback. */
export function outsideClusterConfig(ports: { health: number; webhook: number }, certDir: string, namespace = "kueue-system"): Record<string, unknown> {
  return {
    apiVersion: "config.kueue.x-k8s.io/v1beta2",
    kind: "Configuration",
    namespace,
    health: { healthProbeBindAddress: `127.0.0.1:${ports.health}` },
    metrics: { bindAddress: "0" },
    webhook: { host: "127.0.0.1", port: ports.webhook, certDir },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: true, webhookServiceName: "kueue-webhook-service", webhookSecretName: WEBHOOK_SECRET },
    featureGates: { VisibilityOnDemand: false },
    integrations: { frameworks: ["batch/job", "jobset.x-k8s.io/jobset"] },
  };
}

export interface KueueManager {
  /** Whether the manager process is running now. */
  running(): boolean;
  /** How often it was started. */
  starts(): number;
  /** The last lines of its log. */
  logTail(lines?: number): string;
  /** Resolves once the manager reports its controllers started (after its certificates are ready). */
  ready(timeoutSeconds?: number): Promise<void>;
  /** Stops the manager and the supervision (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const NAMESPACE = "kueue-system";
const WEBHOOK_SECRET = "kueue-webhook-server-cert";

/** What Kueue's chart installs that the manager needs before it can start. */
const PREREQUISITES = ["crd/clusterqueues.kueue.x-k8s.io", "crd/workloads.kueue.x-k8s.io", "validatingwebhookconfiguration/kueue-validating-webhook-configuration", "mutatingwebhookconfiguration/kueue-mutating-webhook-configuration"];

/** Runs the Kueue manager of `tools` against the cluster of `env.KUBECONFIG`, whenever Kueue is installed. */
export async function superviseKueue(options: { tools: string; dir: string; env: NodeJS.ProcessEnv }): Promise<KueueManager> {
  mkdirSync(options.dir, { recursive: true });
  const configFile = join(options.dir, "kueue-config.yaml");
  writeFileSync(configFile, stringify(outsideClusterConfig({ health: await freePort(), webhook: await freePort() }, join(options.dir, "certs"), NAMESPACE)));
  const log = join(options.dir, "kueue.log");
  let child: ChildProcess | undefined;
  let started = 0;
  let stopped = false;

  const installed = () =>
    new Promise<boolean>((resolve) =>
      execFile(join(options.tools, "bin", "kubectl"), ["--request-timeout=10s", "get", ...PREREQUISITES, "-o", "name"], { env: options.env }, (error) => resolve(!error)),
    );
  const start = () => {
    const fd = openSync(log, "a");
    child = spawn(join(options.tools, "bin", "kueue"), [`--config=${configFile}`, "--zap-log-level=2"], { stdio: ["ignore", fd, fd], env: options.env, cwd: options.dir });
    closeSync(fd);
    started += 1;
  };
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  // If the test process dies without stop() (a crash, a timeout kill), the manager dies with it.
  process.once("exit", () => {
    if (isRunning()) child?.kill("SIGKILL");
  });

  // What the kubelet does for a pod that mounts the webhook certificate Secret: its keys as files.
  const certDir = join(options.dir, "certs");
  const mountCertificates = () =>
    new Promise<void>((resolve) =>
      execFile(
        join(options.tools, "bin", "kubectl"),
        ["--request-timeout=10s", "get", "secret", WEBHOOK_SECRET, "-n", NAMESPACE, "-o", "jsonpath={.data}"],
        { env: options.env },
        (error, stdout) => {
          if (!error && stdout.trim()) {
            mkdirSync(certDir, { recursive: true });
            for (const [file, value] of Object.entries(JSON.parse(stdout) as Record<string, string>)) {
              const content = Buffer.from(value, "base64");
              const path = join(certDir, file);
              if (!existsSync(path) || !readFileSync(path).equals(content)) writeFileSync(path, content, { mode: 0o600 });
            }
          }
          resolve();
        },
      ),
    );

  // Kueue uninstalled (destroy): stop the manager, so that a reinstall gets a fresh one, as a new pod would.
  const stopChild = async () => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once("exit", () => resolve()));
    current.kill("SIGTERM");
    if ((await Promise.race([exited.then(() => "exited"), sleep(10_000).then(() => "timeout")])) === "timeout") {
      current.kill("SIGKILL");
      await exited;
    }
  };
  const loop = (async () => {
    for (let tick = 0; !stopped; tick++) {
      if (!isRunning()) {
        if ((await installed()) && !stopped) start();
      } else {
        await mountCertificates();
        if (tick % 3 === 0 && !(await installed())) await stopChild();
      }
      await sleep(1000);
    }
  })();

  const logTail = (lines = 30) => (existsSync(log) ? readFileSync(log, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "");
  return {
    running: isRunning,
    starts: () => started,
    logTail,
    async ready(timeoutSeconds = 180) {
      const deadline = Date.now() + timeoutSeconds * 1000;
      // The queue controllers and the batch/v1 Job integration have started their workers.
      const started = (text: string) => ["clusterqueue-reconciler", "workload-reconciler", "job"].every((logger) => new RegExp(`"logger":"${logger}"[^\n]*"msg":"Starting workers"`).test(text));
      while (!(isRunning() && started(existsSync(log) ? readFileSync(log, "utf8") : ""))) {
        if (Date.now() > deadline) throw new Error(`Kueue's manager did not start its controllers within ${timeoutSeconds} s (started ${started} time(s)):\n${logTail()}`);
        await sleep(500);
      }
    },
    async stop() {
      stopped = true;
      await loop;
      await stopChild();
    },
  };
}
