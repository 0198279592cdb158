/**
 * Every key of the stack config, as paths (`servings[].models[].versionPolicy`), read from the zod schemas
 * in stacks/config/schema.ts, so docs/stack-config.md can be checked against the code.
 */
import type { z } from "zod";
import { platformConfigSchema } from "../../stacks/config/schema";

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  element?: z.ZodType;
  valueType?: z.ZodType;
  keyType?: z.ZodType;
  schema?: z.ZodType;
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Field paths under `prefix`: objects add `.key`, arrays `[]`; records, unions and wrappers are looked through. */
function paths(schema: z.ZodType, prefix: string, into: Set<string>): void {
  const def = defOf(schema);
  switch (def.type) {
    case "object":
      for (const [key, value] of Object.entries(def.shape ?? {})) {
        const path = prefix ? `${prefix}.${key}` : key;
        into.add(path);
        paths(value, path, into);
      }
      return;
    case "optional":
    case "default":
    case "nullable":
    case "readonly":
    case "catch":
    case "prefault":
      return paths(def.innerType!, prefix, into);
    case "pipe":
      // z.preprocess(fn, schema): the schema is the pipe's output
      return paths(defOf(def.in!).type === "transform" ? def.out! : def.in!, prefix, into);
    case "union":
      for (const option of def.options ?? []) paths(option, prefix, into);
      return;
    case "array":
      return paths(def.element!, `${prefix}[]`, into);
    case "record": {
      // maps of names to objects (releases.<model>) have keys of their own; maps of strings do not
      const value = def.valueType!;
      const nested = new Set<string>();
      paths(value, `${prefix}.<name>`, nested);
      if (nested.size > 0) {
        into.add(`${prefix}.<name>`);
        nested.forEach((path) => into.add(path));
      }
      return;
    }
    default:
      return;
  }
}

/** Every config key path, without the `ml-platform:` namespace, sorted. */
export function configKeyPaths(): string[] {
  const into = new Set<string>();
  paths(platformConfigSchema as unknown as z.ZodType, "", into);
  return [...into].sort();
}
