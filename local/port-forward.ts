/**
 * Reaching a serving's Service from this machine: `kubectl port-forward` to a free local port, whose
 * number kubectl prints. A port-forward reaches one pod behind the Service, which is all a smoke run
 * through it can check (docs/smoke-suite.md: pods are not checked then).
 */
import type { SmokeEndpoint } from "../contracts/smoke-targets";
import type { LocalContext } from "./context";
import { StepFailedError } from "./errors";
import { type Background, background } from "./processes";

export interface ServiceAddress {
  service: string;
  namespace: string;
  port: number;
}

/** Pure: `<service>.<namespace>.svc[.cluster.local]:<port>` of an endpoint's `grpc` address. */
export function serviceAddress(endpoint: SmokeEndpoint): ServiceAddress {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.[a-z0-9.-]+)?:(\d+)$/.exec(endpoint.grpc);
  if (!match) {
    throw new StepFailedError(`endpoint "${endpoint.name}" has the address ${endpoint.grpc}, which is not an in-cluster Service (<service>.<namespace>.svc.cluster.local:<port>) a port-forward can reach`);
  }
  return { service: match[1]!, namespace: match[3]!, port: Number(match[6]) };
}

/** Pure: the local port from kubectl's `Forwarding from 127.0.0.1:<port> -> <remote>` line, if printed yet. */
export function forwardedPort(output: string): number | undefined {
  const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(output);
  return match ? Number(match[1]) : undefined;
}

export interface PortForward {
  endpoint: string;
  /** `127.0.0.1:<port>` */
  address: string;
  stop(): Promise<void>;
}

/** Starts a port-forward to an endpoint's Service and waits until kubectl says which local port it uses. */
export async function startPortForward(context: LocalContext, kubeContextName: string, endpoint: SmokeEndpoint, timeoutMs = 60_000): Promise<PortForward> {
  const target = serviceAddress(endpoint);
  const forward: Background = background(
    "kubectl",
    ["--context", kubeContextName, "--namespace", target.namespace, "port-forward", "--address", "127.0.0.1", `service/${target.service}`, `:${target.port}`],
    { env: context.env, cwd: context.projectDir },
  );
  const port = await new Promise<number | undefined>((resolve) => {
    const check = () => {
      const found = forwardedPort(forward.output());
      if (found !== undefined) done(found);
    };
    const deadline = setTimeout(() => done(undefined), timeoutMs);
    const done = (value: number | undefined) => {
      clearTimeout(deadline);
      forward.child.stdout?.off("data", check);
      resolve(value);
    };
    forward.child.stdout?.on("data", check);
    void forward.exited.then(() => done(forwardedPort(forward.output())));
  });
  if (port === undefined) {
    await forward.stop();
    const output = forward.output().trim();
    throw new StepFailedError(
      `kubectl port-forward to service/${target.service} in namespace ${target.namespace} (endpoint "${endpoint.name}") did not start${output ? `:\n${output}` : ` within ${timeoutMs / 1000} s`}`,
    );
  }
  return { endpoint: endpoint.name, address: `127.0.0.1:${port}`, stop: () => forward.stop() };
}
