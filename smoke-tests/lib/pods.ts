/**
 * The pod addresses of an endpoint: its static list, or every address its headless Service name
 * resolves to. A headless Service resolves only to ready pods, and to nothing before the first one is
 * ready, so resolution is retried until the run's deadline.
 */
import { lookup } from "node:dns/promises";
import { isIPv6 } from "node:net";
import type { SmokePods } from "../../contracts/smoke-targets";

/** Resolves a host name to every address it has (what `getaddrinfo` returns, as the pods' DNS does). */
export type HostResolver = (host: string) => Promise<string[]>;

export const resolveHost: HostResolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** Splits "host:port" or "[v6]:port". */
export function splitHostPort(address: string): { host: string; port: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!match) throw new Error(`"${address}" is not HOST:PORT`);
  return { host: match[1] ?? match[2]!, port: match[3]! };
}

export function joinHostPort(host: string, port: string): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export type PodsResolution = { ok: true; pods: string[]; observed: string } | { ok: false; observed: string };

/**
 * The pod addresses of `pods`, sorted and without duplicates. For the `dns` form, retries until
 * `deadline` (epoch ms) while the name does not resolve, calling `onWait` with what it saw.
 */
export async function resolvePods(
  pods: SmokePods,
  options: { deadline: number; pollIntervalMs: number; resolver?: HostResolver; onWait?: (observed: string) => void },
): Promise<PodsResolution> {
  if (Array.isArray(pods)) return { ok: true, pods: [...new Set(pods)], observed: `${pods.length} listed` };
  const { host, port } = splitHostPort(pods.dns);
  const resolver = options.resolver ?? resolveHost;
  for (;;) {
    let observed: string;
    try {
      const addresses = [...new Set(await resolver(host))].sort();
      if (addresses.length > 0) {
        const resolved = addresses.map((address) => joinHostPort(address, port));
        return { ok: true, pods: resolved, observed: `${host} resolved to ${resolved.join(", ")}` };
      }
      observed = `${host} resolved to no address`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      observed = `${host} did not resolve (${code ?? (error as Error).message})`;
    }
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) return { ok: false, observed };
    options.onWait?.(observed);
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollIntervalMs, remaining)));
  }
}
