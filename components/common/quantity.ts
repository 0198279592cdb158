/**
 * Kubernetes resource quantities as numbers, for the arithmetic quotas need (is a queue's share within its
 * namespace quota, how much may a team borrow). Quantities that `quantityProblem` accepts parse here.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/;

/** The value of a quantity in base units (cores, bytes): "500m" is 0.5, "2Gi" is 2147483648. Throws on a malformed one. */
export function parseQuantity(quantity: string): number {
  const match = QUANTITY.exec(quantity);
  if (!match) throw new Error(`"${quantity}" is not a Kubernetes quantity`);
  const [, digits, suffix = ""] = match;
  const value = Number(digits);
  if (suffix in BINARY) return value * BINARY[suffix];
  if (suffix in DECIMAL) return value * DECIMAL[suffix];
  return value * 10 ** Number(suffix.slice(1));
}

/**
 * A quantity string for a value in base units: whole cores or millicores for CPU ("4", "1500m"), and for
 * memory the largest binary unit that divides it exactly ("96Gi"), else bytes.
 */
export function formatQuantity(value: number, kind: "cpu" | "memory"): string {
  if (kind === "cpu") {
    const millis = Math.round(value * 1000);
    return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
  }
  const bytes = Math.round(value);
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
    if (bytes !== 0 && bytes % BINARY[unit] === 0) return `${bytes / BINARY[unit]}${unit}`;
  }
  return String(bytes);
}
