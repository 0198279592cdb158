/**
 * A real Kubernetes control plane on 127.0.0.1 with simulated nodes, for the real-deploy suite: etcd,
 * kube-apiserver (TLS, RBAC, service-account tokens, Pod Security admission), kube-controller-manager and
 * kube-scheduler built from source (test/e2e/install-tools.sh), and kwok, which plays the kubelet of one
 * fake amd64 node: it marks scheduled pods running and ready, and pods of Jobs succeeded. No container runs.
 *
 * Loopback only. The node's IP and Service IPs are in 127.0.0.0/8. Pod IPs cannot be: the API server
 * refuses loopback addresses in EndpointSlices, and a Service only becomes ready (for Pulumi too) once its
 * EndpointSlice lists its pods; they are made-up addresses that nothing dials (no CNI, no kube-proxy). Nothing
 * makes the API server dial out: admission webhooks are not called (nothing would serve them), there is no
 * aggregated API, and nobody asks it for logs, exec or port-forward. And the suite runs in a network
 * namespace of its own whose only interface is loopback (test/e2e/run.sh), so nothing else is reachable.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface FakeClusterOptions {
  /** The folder install-tools.sh printed (bin/, kwok/). */
  tools: string;
  /** Where certificates, kubeconfigs, etcd's data and the logs go. */
  dir: string;
  /** Persistent volumes to pre-create for the default StorageClass (each binds one claim). @default 6 */
  volumes?: number;
}

/** Where a component's log file is, for messages. */
export type Component = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok";

export interface FakeCluster {
  /** Admin kubeconfig (context `KUBE_CONTEXT`). */
  kubeconfig: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Environment for tools that talk to the cluster: PATH with the tools first, KUBECONFIG. */
  env: NodeJS.ProcessEnv;
  /** Runs kubectl against the cluster; returns stdout, throws with stderr on failure. */
  kubectl(args: readonly string[], options?: { input?: string }): string;
  /** Stops the API server (SIGKILL: as abrupt as a crash), keeping etcd and its data. */
  stopApiServer(): Promise<void>;
  /** Starts the API server again on the same address and data; resolves once it is ready. */
  startApiServer(): Promise<void>;
  /** PIDs of the processes it started (for the suite's own checks). */
  pids(): number[];
  /** The last lines of a component's log. */
  logTail(component: Component, lines?: number): string;
  /** Stops everything it started, also after a failure. */
  stop(): Promise<void>;
}

export const KUBE_CONTEXT = "fake-cluster";
export const NODE_NAME = "kwok-node-0";
export const NODE_IP = "127.0.0.2";
export const SERVICE_CIDR = "127.64.0.0/16";
/** Not loopback: EndpointSlices refuse loopback addresses (see above). Nothing routes to it. */
export const POD_CIDR = "10.244.0.0/16";

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, client certificates per user, and the service-account key. */
function makeCertificates(dir: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=fake-cluster-ca"]);
  const sign = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`]);
  };
  const serviceIp = SERVICE_CIDR.replace(/0\/\d+$/, "1");
  sign(
    "apiserver",
    "/CN=kube-apiserver",
    `subjectAltName=IP:127.0.0.1,IP:${serviceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n`,
  );
  for (const [name, subject] of [
    ["admin", "/O=system:masters/CN=fake-cluster-admin"],
    ["controller-manager", "/CN=system:kube-controller-manager"],
    ["scheduler", "/CN=system:kube-scheduler"],
    ["kwok", "/O=system:masters/CN=kwok"],
  ]) {
    sign(name, subject, "extendedKeyUsage=clientAuth\n");
  }
  openssl(dir, ["genrsa", "-out", "service-account.key", "2048"]);
  openssl(dir, ["rsa", "-in", "service-account.key", "-pubout", "-out", "service-account.pub"]);
}

function writeKubeconfig(dir: string, user: string, server: string): string {
  const file = join(dir, `${user}.kubeconfig`);
  const b64 = (name: string) => readFileSync(join(dir, name)).toString("base64");
  writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: ${KUBE_CONTEXT}`,
      "  cluster:",
      `    server: ${server}`,
      `    certificate-authority-data: ${b64("ca.crt")}`,
      "users:",
      `- name: ${user}`,
      "  user:",
      `    client-certificate-data: ${b64(`${user}.crt`)}`,
      `    client-key-data: ${b64(`${user}.key`)}`,
      "contexts:",
      `- name: ${KUBE_CONTEXT}`,
      "  context:",
      `    cluster: ${KUBE_CONTEXT}`,
      `    user: ${user}`,
      `current-context: ${KUBE_CONTEXT}`,
      "",
    ].join("\n"),
  );
  return file;
}

/** The node kwok plays: amd64 Linux with 8 GPUs, room for the platform's pods, no taints. */
function nodeManifest(): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: NODE_NAME,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: { "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": NODE_NAME, type: "kwok" },
    },
    status: {
      allocatable: { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "200Gi", "nvidia.com/gpu": "8" },
      capacity: { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "200Gi", "nvidia.com/gpu": "8" },
      nodeInfo: { architecture: "amd64", operatingSystem: "linux" },
    },
  });
}

/** A default StorageClass with pre-made volumes: the PVC of the in-cluster store binds one of them. */
function storageManifests(volumes: number): string {
  const items: unknown[] = [
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "kubernetes.io/no-provisioner",
      volumeBindingMode: "Immediate",
      reclaimPolicy: "Retain",
    },
  ];
  for (let i = 0; i < volumes; i++) {
    items.push({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `fake-volume-${i}` },
      spec: {
        storageClassName: "standard",
        capacity: { storage: "50Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        hostPath: { path: `/var/lib/fake-volumes/${i}` },
      },
    });
  }
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

export async function startFakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  const { tools, dir } = options;
  const bin = (name: string) => join(tools, "bin", name);
  mkdirSync(dir, { recursive: true });
  makeCertificates(dir);

  const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = writeKubeconfig(dir, "admin", server);
  for (const user of ["controller-manager", "scheduler", "kwok"]) writeKubeconfig(dir, user, server);

  const children = new Map<Component, ChildProcess>();
  // If the test process dies without calling stop() (a crash, a timeout kill), its control plane dies with it.
  const killAll = () => {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const logFile = (component: Component) => join(dir, `${component}.log`);
  const start = (component: Component, args: string[]) => {
    const fd = openSync(logFile(component), "a");
    const child = spawn(bin(component), args, { stdio: ["ignore", fd, fd], cwd: dir });
    closeSync(fd);
    children.set(component, child);
    return child;
  };
  const logTail = (component: Component, lines = 20) =>
    existsSync(logFile(component)) ? readFileSync(logFile(component), "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";

  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(tools, "bin")}:${process.env.PATH}`, KUBECONFIG: kubeconfig };
  const kubectl = (args: readonly string[], opts: { input?: string } = {}) =>
    execFileSync(bin("kubectl"), ["--request-timeout=20s", ...args], { env, encoding: "utf8", input: opts.input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 << 20 });

  /** Waits until `check` passes, or a component died, or time is up. */
  const waitFor = async (what: string, check: () => boolean, component: Component, seconds = 60) => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const child = children.get(component);
      if (child && child.exitCode !== null) throw new Error(`${component} exited (${child.exitCode}) while waiting for ${what}:\n${logTail(component)}`);
      if (check()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}:\n${logTail(component)}`);
      await sleep(250);
    }
  };
  const succeeds = (fn: () => unknown) => () => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };

  const startApiServer = async () => {
    start("kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${join(dir, "apiserver.crt")}`,
      `--tls-private-key-file=${join(dir, "apiserver.key")}`,
      `--client-ca-file=${join(dir, "ca.crt")}`,
      "--authorization-mode=Node,RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(dir, "service-account.pub")}`,
      `--service-account-signing-key-file=${join(dir, "service-account.key")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // Webhooks would make the API server dial Services; nothing here would answer them anyway.
      "--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
      // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints reject.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
    ]);
    await waitFor("the API server to be ready", succeeds(() => kubectl(["get", "--raw", "/readyz"])), "kube-apiserver", 120);
  };

  const stop = async () => {
    process.removeListener("exit", killAll);
    for (const component of ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"] as const) {
      const child = children.get(component);
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      if ((await Promise.race([exited.then(() => "exited"), sleep(10_000).then(() => "timeout")])) === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
    }
  };

  try {
    start("etcd", [
      "--name=fake-cluster",
      `--data-dir=${join(dir, "etcd-data")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=fake-cluster=http://127.0.0.1:${etcdPeerPort}`,
      // A throwaway cluster: no fsync (much faster on a busy disk).
      "--unsafe-no-fsync",
    ]);
    await startApiServer();

    start("kube-controller-manager", [
      `--kubeconfig=${join(dir, "controller-manager.kubeconfig")}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${join(dir, "service-account.key")}`,
      `--root-ca-file=${join(dir, "ca.crt")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--controllers=*",
    ]);
    start("kube-scheduler", [`--kubeconfig=${join(dir, "scheduler.kubeconfig")}`, "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false"]);

    const stages = ["node-initialize", "node-heartbeat", "pod-ready", "pod-complete", "pod-delete"].map((s) => `--config=${join(tools, "kwok", `${s}.yaml`)}`);
    start("kwok", [
      `--kubeconfig=${join(dir, "kwok.kubeconfig")}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--node-ip=${NODE_IP}`,
      `--cidr=${POD_CIDR}`,
      ...stages,
    ]);

    kubectl(["apply", "-f", "-"], { input: nodeManifest() });
    kubectl(["apply", "-f", "-"], { input: storageManifests(options.volumes ?? 6) });
    await waitFor(
      "the fake node to be ready",
      succeeds(() => {
        if (kubectl(["get", "node", NODE_NAME, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).trim() !== "True") throw new Error("not ready");
      }),
      "kwok",
    );
    // Pods need their namespace's `default` service account, which the controller manager creates.
    await waitFor("the default service account", succeeds(() => kubectl(["get", "serviceaccount", "default", "-n", "default"])), "kube-controller-manager");
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    kubeconfig,
    server,
    env,
    kubectl,
    async stopApiServer() {
      const child = children.get("kube-apiserver");
      if (!child || child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
    },
    startApiServer,
    pids: () => [...children.values()].map((c) => c.pid).filter((p): p is number => p !== undefined),
    logTail,
    stop,
  };
}
