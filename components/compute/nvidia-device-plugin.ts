import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PLATFORM_LABEL_PREFIX, selectorLabels, standardLabels } from "../common/kubernetes";

/** Pinned NVIDIA device plugin release. */
export const NVIDIA_DEVICE_PLUGIN_VERSION = "v0.18.2";
export const NVIDIA_DEVICE_PLUGIN_IMAGE = `nvcr.io/nvidia/k8s-device-plugin:${NVIDIA_DEVICE_PLUGIN_VERSION}`;

/** Node label set by GPU pools whose AMI needs the device plugin; the DaemonSet runs only there. */
export const DEVICE_PLUGIN_NODE_LABEL = `${PLATFORM_LABEL_PREFIX}/nvidia-device-plugin`;

export interface NvidiaDevicePluginArgs {
  /**
   * Namespace for the DaemonSet.
   * @default "kube-system"
   */
  namespace?: string;
  /**
   * Container image of the plugin.
   * @default NVIDIA_DEVICE_PLUGIN_IMAGE (a pinned release)
   */
  image?: string;
}

/** The plugin's DaemonSet spec (pure; rendered by `NvidiaDevicePlugin`). */
export function nvidiaDevicePluginDaemonSet(name: string, args: NvidiaDevicePluginArgs = {}) {
  const image = args.image ?? NVIDIA_DEVICE_PLUGIN_IMAGE;
  const selector = selectorLabels({ name: "nvidia-device-plugin", instance: name });
  return {
    apiVersion: "apps/v1" as const,
    kind: "DaemonSet" as const,
    metadata: {
      name,
      namespace: args.namespace ?? "kube-system",
      labels: standardLabels({ name: "nvidia-device-plugin", instance: name, version: image.split(":").pop() }),
    },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: selector },
        spec: {
          // Only nodes whose AMI lacks the plugin carry this label (set by GpuNodePool).
          nodeSelector: { [DEVICE_PLUGIN_NODE_LABEL]: "true" },
          // A node agent must run whatever taints the GPU pool uses, like other node-critical DaemonSets.
          tolerations: [{ operator: "Exists" }],
          priorityClassName: "system-node-critical",
          automountServiceAccountToken: false,
          // Runs as root to write its socket into the kubelet's directory; seccomp still applies.
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "nvidia-device-plugin",
              image,
              env: [{ name: "FAIL_ON_INIT_ERROR", value: "false" }],
              resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "device-plugins", mountPath: "/var/lib/kubelet/device-plugins" }],
            },
          ],
          volumes: [{ name: "device-plugins", hostPath: { path: "/var/lib/kubelet/device-plugins", type: "Directory" } }],
        },
      },
    },
  };
}

/**
 * The NVIDIA device plugin DaemonSet, which makes GPU nodes advertise `nvidia.com/gpu`. AL2023 NVIDIA AMIs
 * need it; Bottlerocket NVIDIA AMIs ship it. Declare it once per cluster: `NvidiaDevicePlugin.forProvider`
 * does that for GpuNodePool.
 */
export class NvidiaDevicePlugin extends pulumi.ComponentResource {
  private static readonly byProvider = new WeakMap<k8s.Provider, NvidiaDevicePlugin>();

  readonly daemonSet: k8s.apps.v1.DaemonSet;

  constructor(name: string, args: NvidiaDevicePluginArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super("ml-platform:compute:NvidiaDevicePlugin", name, {}, opts);
    this.daemonSet = new k8s.apps.v1.DaemonSet(`${name}`, nvidiaDevicePluginDaemonSet(name, args), { parent: this });
    this.registerOutputs({});
  }

  /**
   * The cluster's plugin: the first call for a provider declares it (named `name`), later calls return the
   * same instance, so any number of pools share one DaemonSet.
   */
  static forProvider(provider: k8s.Provider, name = "nvidia-device-plugin", args: NvidiaDevicePluginArgs = {}): NvidiaDevicePlugin {
    const existing = NvidiaDevicePlugin.byProvider.get(provider);
    if (existing) return existing;
    const plugin = new NvidiaDevicePlugin(name, args, { providers: { kubernetes: provider } });
    NvidiaDevicePlugin.byProvider.set(provider, plugin);
    return plugin;
  }
}
