import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../../components/common/kubernetes";
import { expectRestrictedPodSpec, expectRestrictedPods, podTemplatesOf, restrictedViolations } from "./pod-security";
import { runInMocks } from "./pulumi-mocks";

/* eslint-disable @typescript-eslint/no-explicit-any -- test pods are mutated freely */

/** A pod that meets "restricted": the shape every platform pod should have. */
function compliantPod(): any {
  return {
    securityContext: restrictedPodSecurityContext(),
    initContainers: [{ name: "init", image: "busybox:1.37", securityContext: restrictedContainerSecurityContext() }],
    containers: [
      {
        name: "app",
        image: "nginx:1.27",
        ports: [{ containerPort: 8080 }],
        securityContext: restrictedContainerSecurityContext(),
        readinessProbe: { httpGet: { path: "/", port: 8080 } },
      },
    ],
    volumes: [
      { name: "scratch", emptyDir: {} },
      { name: "config", configMap: { name: "c" } },
      { name: "creds", secret: { secretName: "s" } },
      { name: "data", persistentVolumeClaim: { claimName: "d" } },
      { name: "token", projected: { sources: [] } },
    ],
  };
}

function controlsOf(pod: any, metadata: any = {}): string[] {
  return restrictedViolations(pod, metadata).map((v) => `${v.control} @ ${v.path}`);
}

describe("restrictedViolations", () => {
  it("accepts a pod built from the platform's restricted security contexts", () => {
    expect(restrictedViolations(compliantPod())).toEqual([]);
    expect(() => expectRestrictedPodSpec(compliantPod(), "ok")).not.toThrow();
  });

  it("accepts container-level settings instead of pod-level ones", () => {
    const pod = compliantPod();
    pod.securityContext = {};
    for (const c of [...pod.containers, ...pod.initContainers]) c.securityContext = { ...restrictedContainerSecurityContext(), runAsUser: 1000 };
    expect(restrictedViolations(pod)).toEqual([]);
  });

  // One pod per rule, each breaking exactly that rule.
  const cases: Array<[string, (pod: any, meta: any) => void, string[]]> = [
    ["host network", (p) => (p.hostNetwork = true), ["Host Namespaces @ hostNetwork"]],
    ["host PID", (p) => (p.hostPID = true), ["Host Namespaces @ hostPID"]],
    ["host IPC", (p) => (p.hostIPC = true), ["Host Namespaces @ hostIPC"]],
    ["Windows HostProcess", (p) => (p.securityContext.windowsOptions = { hostProcess: true }), ["HostProcess @ securityContext.windowsOptions.hostProcess"]],
    ["privileged container", (p) => (p.containers[0].securityContext.privileged = true), ["Privileged Containers @ containers[0].securityContext.privileged"]],
    [
      "hostPath volume",
      (p) => p.volumes.push({ name: "host", hostPath: { path: "/var" } }),
      ["HostPath Volumes @ volumes[5].hostPath", "Volume Types @ volumes[5].hostPath"],
    ],
    ["host port", (p) => (p.containers[0].ports[0].hostPort = 80), ["Host Ports @ containers[0].ports[0].hostPort"]],
    [
      "unconfined AppArmor",
      (p) => (p.containers[0].securityContext.appArmorProfile = { type: "Unconfined" }),
      ["AppArmor @ containers[0].securityContext.appArmorProfile.type"],
    ],
    [
      "unconfined AppArmor annotation",
      (_p, m) => (m.annotations = { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" }),
      ['AppArmor @ metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]'],
    ],
    ["custom SELinux type", (p) => (p.securityContext.seLinuxOptions = { type: "spc_t" }), ["SELinux @ securityContext.seLinuxOptions.type"]],
    ["SELinux user", (p) => (p.containers[0].securityContext.seLinuxOptions = { user: "root" }), ["SELinux @ containers[0].securityContext.seLinuxOptions.user"]],
    ["unmasked /proc", (p) => (p.containers[0].securityContext.procMount = "Unmasked"), ["/proc Mount Type @ containers[0].securityContext.procMount"]],
    ["unsafe sysctl", (p) => (p.securityContext.sysctls = [{ name: "kernel.msgmax", value: "1" }]), ["Sysctls @ securityContext.sysctls"]],
    ["probe host", (p) => (p.containers[0].readinessProbe.httpGet.host = "10.0.0.1"), ["Probe or Lifecycle Host @ containers[0].readinessProbe.httpGet.host"]],
    [
      "lifecycle host",
      (p) => (p.containers[0].lifecycle = { preStop: { tcpSocket: { port: 1, host: "example.com" } } }),
      ["Probe or Lifecycle Host @ containers[0].lifecycle.preStop.tcpSocket.host"],
    ],
    ["NFS volume", (p) => p.volumes.push({ name: "nfs", nfs: { server: "x", path: "/" } }), ["Volume Types @ volumes[5].nfs"]],
    [
      "privilege escalation left to the default",
      (p) => delete p.initContainers[0].securityContext.allowPrivilegeEscalation,
      ["Privilege Escalation @ initContainers[0].securityContext.allowPrivilegeEscalation"],
    ],
    ["runAsNonRoot false on a container", (p) => (p.containers[0].securityContext.runAsNonRoot = false), ["Running as Non-root @ containers[0].securityContext.runAsNonRoot"]],
    [
      "runAsNonRoot nowhere",
      (p) => {
        delete p.securityContext.runAsNonRoot;
        delete p.containers[0].securityContext.runAsNonRoot;
      },
      ["Running as Non-root @ containers[0].securityContext.runAsNonRoot"],
    ],
    ["root user", (p) => (p.securityContext.runAsUser = 0), ["Running as Non-root user @ securityContext.runAsUser"]],
    [
      "seccomp Unconfined on a container",
      (p) => (p.containers[0].securityContext.seccompProfile = { type: "Unconfined" }),
      ["Seccomp @ containers[0].securityContext.seccompProfile.type"],
    ],
    [
      "seccomp nowhere",
      (p) => {
        delete p.securityContext.seccompProfile;
        delete p.initContainers[0].securityContext.seccompProfile;
      },
      ["Seccomp @ initContainers[0].securityContext.seccompProfile.type"],
    ],
    ["capabilities not dropped", (p) => (p.containers[0].securityContext.capabilities = {}), ["Capabilities @ containers[0].securityContext.capabilities.drop"]],
    [
      "capability added",
      (p) => (p.containers[0].securityContext.capabilities = { drop: ["ALL"], add: ["NET_ADMIN"] }),
      ["Capabilities @ containers[0].securityContext.capabilities.add"],
    ],
  ];

  it.each(cases)("reports %s", (_name, breakIt, expected) => {
    const pod = compliantPod();
    const metadata: any = {};
    // Pod-level seccomp set, container-level unset: only the container that drops it is reported.
    breakIt(pod, metadata);
    expect(controlsOf(pod, metadata)).toEqual(expected);
    expect(() => expectRestrictedPodSpec(pod, "Deployment/x", metadata)).toThrow(/Deployment\/x breaks Pod Security "restricted"/);
  });

  it("still allows NET_BIND_SERVICE and Localhost profiles", () => {
    const pod = compliantPod();
    pod.containers[0].securityContext.capabilities = { drop: ["ALL"], add: ["NET_BIND_SERVICE"] };
    pod.securityContext.seccompProfile = { type: "Localhost", localhostProfile: "p.json" };
    pod.securityContext.sysctls = [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }];
    expect(restrictedViolations(pod)).toEqual([]);
  });
});

describe("podTemplatesOf / expectRestrictedPods", () => {
  it("finds pod templates in workloads, Jobs, CronJobs and JobSets", () => {
    const spec = compliantPod();
    const template = { metadata: { labels: { a: "b" } }, spec };
    expect(podTemplatesOf({ kind: "Deployment", metadata: { name: "d" }, spec: { template } })[0].spec).toBe(spec);
    expect(podTemplatesOf({ kind: "Job", metadata: { name: "j" }, spec: { template } })[0].label).toBe("Job/j spec.template");
    expect(podTemplatesOf({ kind: "CronJob", metadata: { name: "c" }, spec: { jobTemplate: { spec: { template } } } })[0].spec).toBe(spec);
    const jobSet = { kind: "JobSet", metadata: { name: "js" }, spec: { replicatedJobs: [{ name: "worker", template: { spec: { template } } }] } };
    expect(podTemplatesOf(jobSet).map((t) => t.label)).toEqual(["JobSet/js spec.replicatedJobs[0] (worker)"]);
    expect(podTemplatesOf({ kind: "ConfigMap", metadata: { name: "x" } })).toEqual([]);
  });

  it("checks every pod of a mock run and names the offending object", async () => {
    const good = await runInMocks(() => {
      new k8s.apps.v1.Deployment("ok", {
        metadata: { name: "ok" },
        spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: compliantPod() } },
      });
      new k8s.core.v1.ConfigMap("cm", { metadata: { name: "cm" }, data: {} });
    });
    expect(expectRestrictedPods(good)).toBe(1);

    const badSpec = compliantPod();
    badSpec.containers[0].securityContext.privileged = true;
    const bad = await runInMocks(() => {
      new k8s.batch.v1.Job("bad", { metadata: { name: "bad" }, spec: { template: { spec: badSpec } } });
    });
    expect(() => expectRestrictedPods(bad)).toThrow(/Job\/bad spec\.template \[Privileged Containers\] containers\[0\]\.securityContext\.privileged/);
  });
});
