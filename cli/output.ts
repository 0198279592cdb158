/**
 * JSON for stdout: like JSON.stringify, but bigints (exact int64 values) are written as the
 * integers they are.
 */
export function toJson(value: unknown, indent = 0): string {
  const pad = (level: number) => (indent ? "\n" + " ".repeat(indent * level) : "");
  const write = (v: unknown, level: number): string => {
    if (typeof v === "bigint") return v.toString();
    if (v === null || typeof v === "number" || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
    if (v === undefined) return "null";
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      return `[${v.map((item) => pad(level + 1) + write(item, level + 1)).join(",")}${pad(level)}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, item]) => item !== undefined);
    if (entries.length === 0) return "{}";
    const sep = indent ? ": " : ":";
    return `{${entries.map(([key, item]) => pad(level + 1) + JSON.stringify(key) + sep + write(item, level + 1)).join(",")}${pad(level)}}`;
  };
  return write(value, 0);
}
