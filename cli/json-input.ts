/**
 * Reads the JSON the CLI is given, keeping the line of every value so that errors can name the
 * line at fault, and keeping integers beyond 2^53 exact (as bigint).
 */

export type JsonNode =
  | { kind: "literal"; value: null | boolean | string; line: number }
  | { kind: "number"; raw: string; line: number }
  | { kind: "array"; items: JsonNode[]; line: number }
  | { kind: "object"; entries: Map<string, JsonNode>; keyLines: Map<string, number>; line: number };

export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Parses one JSON document; `firstLine` is the line number of the text's first line. */
export function parseJson(text: string, firstLine = 1): JsonNode {
  let pos = 0;
  let line = firstLine;
  let lineStart = 0;

  const error = (reason: string): JsonSyntaxError => new JsonSyntaxError(reason, line, pos - lineStart + 1);
  const skipWhitespace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x0a) {
        line++;
        lineStart = pos + 1;
      } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
      pos++;
    }
  };
  const describeHere = () => (pos >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[pos])}`);

  const parseString = (): string => {
    STRING.lastIndex = pos;
    const match = STRING.exec(text);
    if (!match) throw error(text[pos] === '"' ? "unterminated or invalid string" : describeHere());
    pos += match[0].length;
    return JSON.parse(match[0]) as string;
  };

  const parseValue = (depth: number): JsonNode => {
    if (depth > 1000) throw error("nesting too deep");
    skipWhitespace();
    const startLine = line;
    const c = text[pos];
    if (c === "{") {
      pos++;
      const entries = new Map<string, JsonNode>();
      const keyLines = new Map<string, number>();
      skipWhitespace();
      if (text[pos] === "}") {
        pos++;
        return { kind: "object", entries, keyLines, line: startLine };
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') throw error(`${describeHere()}, expected a key in double quotes`);
        const keyLine = line;
        const key = parseString();
        if (entries.has(key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyLine, 1);
        skipWhitespace();
        if (text[pos] !== ":") throw error(`${describeHere()}, expected ":"`);
        pos++;
        entries.set(key, parseValue(depth + 1));
        keyLines.set(key, keyLine);
        skipWhitespace();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return { kind: "object", entries, keyLines, line: startLine };
        }
        throw error(`${describeHere()}, expected "," or "}"`);
      }
    }
    if (c === "[") {
      pos++;
      const items: JsonNode[] = [];
      skipWhitespace();
      if (text[pos] === "]") {
        pos++;
        return { kind: "array", items, line: startLine };
      }
      for (;;) {
        items.push(parseValue(depth + 1));
        skipWhitespace();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return { kind: "array", items, line: startLine };
        }
        throw error(`${describeHere()}, expected "," or "]"`);
      }
    }
    if (c === '"') return { kind: "literal", value: parseString(), line: startLine };
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return { kind: "literal", value, line: startLine };
      }
    }
    NUMBER.lastIndex = pos;
    const number = NUMBER.exec(text);
    if (number) {
      pos += number[0].length;
      return { kind: "number", raw: number[0], line: startLine };
    }
    throw error(describeHere());
  };

  const root = parseValue(0);
  skipWhitespace();
  if (pos < text.length) throw error(`${describeHere()} after the end of the JSON value`);
  return root;
}

/**
 * The plain JS value of a node. Integers that a double cannot hold exactly become bigints, so
 * int64 inputs stay exact; every other number is a JS number (one beyond a double's range is an
 * error rather than a silent Infinity).
 */
export function toValue(node: JsonNode): unknown {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "number": {
      const value = Number(node.raw);
      if (/^-?\d+$/.test(node.raw) && !Number.isSafeInteger(value)) return BigInt(node.raw);
      if (!Number.isFinite(value)) throw new JsonSyntaxError(`number ${node.raw} is beyond the range of a double`, node.line, 1);
      return value;
    }
    case "array":
      return node.items.map(toValue);
    case "object": {
      const object: Record<string, unknown> = {};
      for (const [key, value] of node.entries) object[key] = toValue(value);
      return object;
    }
  }
}

/** The node at `path` (array indices) below `node`, or the deepest one that exists. */
export function nodeAt(node: JsonNode, path: readonly number[]): JsonNode {
  let current = node;
  for (const index of path) {
    if (current.kind !== "array" || !current.items[index]) break;
    current = current.items[index]!;
  }
  return current;
}

/**
 * Instances for a row-format request: the items of a document that is one JSON array (on one
 * line or pretty-printed), or else one JSON value per non-blank line (newline-delimited JSON).
 * A document that is a single JSON object is one instance.
 */
export function parseInstances(text: string): JsonNode[] {
  if (!text.trim()) return [];
  let documentError: JsonSyntaxError;
  try {
    const document = parseJson(text);
    return document.kind === "array" ? document.items : [document];
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    documentError = error;
  }
  const instances: JsonNode[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trim()) continue;
    try {
      instances.push(parseJson(lines[i]!, i + 1));
    } catch (error) {
      // A first line that is not JSON on its own means a multi-line document: its error is the useful one.
      if (instances.length === 0) throw documentError;
      throw error;
    }
  }
  return instances;
}
