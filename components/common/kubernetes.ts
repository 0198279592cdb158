/** Kubernetes conventions shared by every component that renders pods. */

/** Label prefix for labels the platform owns. */
export const PLATFORM_LABEL_PREFIX = "ml-platform.io";
export const MANAGED_BY = "ml-platform";

export interface StandardLabelArgs {
  /** `app.kubernetes.io/name`: the application, e.g. "tf-serving". */
  name: string;
  /** `app.kubernetes.io/instance`: this instance, usually the component name. */
  instance: string;
  /** `app.kubernetes.io/component`, e.g. "server" or "sync". */
  component?: string;
  /** `app.kubernetes.io/version`, e.g. the image version. */
  version?: string;
}

/** Namespace labels that enforce Pod Security "restricted" (and warn and audit on it): every platform pod meets it. */
export const POD_SECURITY_RESTRICTED_LABELS: Readonly<Record<string, string>> = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
};

/** The recommended `app.kubernetes.io/*` labels. */
export function standardLabels(args: StandardLabelArgs): Record<string, string> {
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": args.name,
    "app.kubernetes.io/instance": args.instance,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    "app.kubernetes.io/part-of": MANAGED_BY,
  };
  if (args.component) labels["app.kubernetes.io/component"] = args.component;
  if (args.version) labels["app.kubernetes.io/version"] = args.version;
  return labels;
}

/** The stable subset of `standardLabels` to select pods by (selectors are immutable). */
export function selectorLabels(args: Pick<StandardLabelArgs, "name" | "instance" | "component">): Record<string, string> {
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": args.name,
    "app.kubernetes.io/instance": args.instance,
  };
  if (args.component) labels["app.kubernetes.io/component"] = args.component;
  return labels;
}

/** Pod-level security context that meets the Pod Security "restricted" profile. */
export function restrictedPodSecurityContext(uid = 65532) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level security context that meets the Pod Security "restricted" profile. */
export function restrictedContainerSecurityContext() {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export interface Toleration {
  key?: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}
