/**
 * What Kueue did, when: polls the queued Jobs and their Workloads once a second and records every change (a Job
 * suspended or started, a Workload condition such as QuotaReserved, Admitted, Preempted, Evicted, Finished), with
 * the seconds since `start()`. The real-deploy suite prints it as evidence and asserts on its order.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- kubectl JSON */
import { execFile } from "node:child_process";
import type { FakeCluster } from "./fake-cluster";

interface Event {
  at: number;
  subject: string;
  what: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export class QueueTimeline {
  private readonly events: Event[] = [];
  private readonly last = new Map<string, string>();
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly cluster: FakeCluster,
    private readonly namespaces: readonly string[],
  ) {}

  private seconds(): number {
    return Math.round((Date.now() - this.started) / 100) / 10;
  }

  private get(resource: string): Promise<Array<Record<string, any>>> {
    return new Promise((resolve) =>
      execFile("kubectl", ["--request-timeout=10s", "get", resource, "-A", "-o", "json"], { env: this.cluster.env, maxBuffer: 32 << 20 }, (error, stdout) => {
        if (error) return resolve([]);
        resolve((JSON.parse(stdout) as { items: Array<Record<string, any>> }).items.filter((item) => this.namespaces.includes(item.metadata.namespace)));
      }),
    );
  }

  /** Records `what` for `subject` when it differs from what was recorded last for the same key. */
  private change(key: string, subject: string, what: string): void {
    if (this.last.get(key) === what) return;
    this.last.set(key, what);
    this.events.push({ at: this.seconds(), subject, what });
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const [jobs, workloads] = await Promise.all([this.get("jobs.batch"), this.get("workloads.kueue.x-k8s.io")]);
      for (const job of jobs) {
        if (!job.metadata.labels?.["kueue.x-k8s.io/queue-name"]) continue;
        const subject = `${job.metadata.namespace}/${job.metadata.name.replace(/-v\d+$/, "")}`;
        const state = (job.status?.succeeded ?? 0) > 0 ? "Job succeeded" : job.spec?.suspend ? "Job suspended" : "Job running (unsuspended)";
        this.change(`job:${subject}`, subject, state);
      }
      for (const workload of workloads) {
        const owner = (workload.metadata.ownerReferences ?? []).find((o: { kind: string }) => o.kind === "Job");
        if (!owner) continue;
        const subject = `${workload.metadata.namespace}/${String(owner.name).replace(/-v\d+$/, "")}`;
        for (const condition of (workload.status?.conditions ?? []) as Condition[]) {
          const detail = condition.status === "False" && condition.message ? `: ${condition.message}` : "";
          this.change(`wl:${subject}:${condition.type}`, subject, `Workload ${condition.type}=${condition.status} (${condition.reason ?? ""})${detail}`);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  start(): void {
    this.started = Date.now();
    this.timer = setInterval(() => void this.poll(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** A line of the test's own actions in the timeline. */
  note(what: string): void {
    this.events.push({ at: this.seconds(), subject: "test", what });
  }

  private of(job: string): Event[] {
    return this.events.filter((e) => e.subject.endsWith(`/${job}`));
  }

  /** Every Workload condition the job's workload had, as `Type=Status (Reason)...`, in order. */
  conditionsOf(job: string): string[] {
    return this.of(job)
      .filter((e) => e.what.startsWith("Workload "))
      .map((e) => e.what.slice("Workload ".length));
  }

  /** Seconds at which the job's workload was last seen becoming admitted. */
  lastAdmission(job: string): number {
    const admissions = this.of(job).filter((e) => e.what.startsWith("Workload Admitted=True"));
    if (admissions.length === 0) throw new Error(`${job} was never seen admitted:\n${this.render()}`);
    return admissions[admissions.length - 1].at;
  }

  /** Seconds at which the job was first seen succeeded. */
  finishedAt(job: string): number {
    const done = this.of(job).find((e) => e.what === "Job succeeded");
    if (!done) throw new Error(`${job} was never seen succeeded:\n${this.render()}`);
    return done.at;
  }

  render(): string {
    return this.events.map((e) => `${e.at.toFixed(1).padStart(7)} s  ${e.subject.padEnd(24)} ${e.what}`).join("\n");
  }
}
