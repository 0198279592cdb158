/** The objects around the Deployment: Services, autoscaler, disruption budget, service account. Pure. */
import { GRPC_PORT, REST_PORT, type TfServingPlan } from "./plan";
import { SERVER_CONTAINER } from "./workload";

/** Services of the AWS Load Balancer Controller that it turns into NLBs. */
export const AWS_NLB_LOAD_BALANCER_CLASS = "service.k8s.aws/nlb";

/** Annotations that make the AWS Load Balancer Controller create an internal NLB with pod IP targets. */
export const INTERNAL_NLB_ANNOTATIONS: Record<string, string> = {
  "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
  "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
};

function servicePorts() {
  return [
    // gRPC is HTTP/2 without TLS ("prior knowledge"), which Kubernetes names kubernetes.io/h2c.
    { name: "grpc", port: GRPC_PORT, targetPort: "grpc", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
    { name: "http", port: REST_PORT, targetPort: "http", protocol: "TCP", appProtocol: "http" },
  ];
}

/** The main Service: ClusterIP, or an internal NLB through the AWS Load Balancer Controller. */
export function tfServingService(plan: TfServingPlan) {
  const nlb = plan.service.type === "InternalLoadBalancer";
  const annotations = nlb ? { ...INTERNAL_NLB_ANNOTATIONS, ...plan.service.annotations } : plan.service.annotations;
  return {
    apiVersion: "v1" as const,
    kind: "Service" as const,
    metadata: {
      name: plan.serviceName,
      namespace: plan.namespace,
      labels: plan.labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      type: nlb ? "LoadBalancer" : "ClusterIP",
      ...(nlb ? { loadBalancerClass: AWS_NLB_LOAD_BALANCER_CLASS } : {}),
      ...(nlb && plan.service.sourceRanges ? { loadBalancerSourceRanges: plan.service.sourceRanges } : {}),
      selector: plan.selector,
      ports: servicePorts(),
    },
  };
}

/** The headless Service: its DNS name resolves to the IP of every ready pod, for client-side balancing. */
export function tfServingHeadlessService(plan: TfServingPlan) {
  if (!plan.headlessServiceName) return undefined;
  return {
    apiVersion: "v1" as const,
    kind: "Service" as const,
    metadata: { name: plan.headlessServiceName, namespace: plan.namespace, labels: plan.labels },
    spec: { type: "ClusterIP", clusterIP: "None", selector: plan.selector, ports: servicePorts() },
  };
}

/** The HorizontalPodAutoscaler, on the TF Serving container's CPU (the sync sidecars do not count). */
export function tfServingAutoscaler(plan: TfServingPlan) {
  if (!plan.autoscaling) return undefined;
  return {
    apiVersion: "autoscaling/v2" as const,
    kind: "HorizontalPodAutoscaler" as const,
    metadata: { name: plan.deploymentName, namespace: plan.namespace, labels: plan.labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: plan.deploymentName },
      minReplicas: plan.autoscaling.minReplicas,
      maxReplicas: plan.autoscaling.maxReplicas,
      metrics: [
        {
          type: "ContainerResource",
          containerResource: {
            name: "cpu",
            container: SERVER_CONTAINER,
            target: { type: "Utilization", averageUtilization: plan.autoscaling.targetCpuUtilization },
          },
        },
      ],
    },
  };
}

/** The PodDisruptionBudget: voluntary evictions (node drains) take at most `maxUnavailable` pods at a time. */
export function tfServingDisruptionBudget(plan: TfServingPlan) {
  if (!plan.podDisruptionBudget) return undefined;
  return {
    apiVersion: "policy/v1" as const,
    kind: "PodDisruptionBudget" as const,
    metadata: { name: plan.deploymentName, namespace: plan.namespace, labels: plan.labels },
    spec: {
      maxUnavailable: plan.podDisruptionBudget.maxUnavailable,
      selector: { matchLabels: plan.selector },
      // A pod that is not serving anyway (crash-looping, still loading) never blocks a drain.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

/** The pods' service account; model store grants are bound to it. */
export function tfServingServiceAccount(plan: TfServingPlan) {
  return {
    apiVersion: "v1" as const,
    kind: "ServiceAccount" as const,
    metadata: { name: plan.serviceAccountName, namespace: plan.namespace, labels: plan.labels },
    automountServiceAccountToken: false,
  };
}

/** In-cluster DNS name of a Service. */
export function serviceHost(serviceName: string, namespace: string): string {
  return `${serviceName}.${namespace}.svc.cluster.local`;
}
