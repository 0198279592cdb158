import { describe, expect, it } from "vitest";
import { JsonSyntaxError, nodeAt, parseInstances, parseJson, toValue } from "../../cli/json-input";

function syntaxError(fn: () => unknown): JsonSyntaxError {
  try {
    fn();
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error("expected a JsonSyntaxError");
}

describe("parseJson", () => {
  it("parses like JSON.parse, keeping the line of every value", () => {
    const text = '{\n  "a": [1,\n    2.5e3, "x"],\n  "b": {"c": null, "d": true}\n}';
    const node = parseJson(text);
    expect(toValue(node)).toEqual(JSON.parse(text));
    expect(node.kind === "object" && node.keyLines.get("b")).toBe(4);
    const a = node.kind === "object" ? node.entries.get("a")! : node;
    expect(nodeAt(a, [1]).line).toBe(3);
    expect(nodeAt(a, [0]).line).toBe(2);
  });

  it("keeps integers beyond 2^53 exact as bigints", () => {
    expect(toValue(parseJson("[9007199254740993, 9007199254740991, -12, 1.5, 1e300]"))).toEqual([9007199254740993n, 9007199254740991, -12, 1.5, 1e300]);
    expect(syntaxError(() => toValue(parseJson("[1,\n 1e400]")))).toMatchObject({ line: 2, reason: "number 1e400 is beyond the range of a double" });
  });

  it("reports the line and column of syntax errors", () => {
    expect(syntaxError(() => parseJson('{"a": 1,\n "b" 2}'))).toMatchObject({ line: 2, column: 6, reason: 'unexpected "2", expected ":"' });
    expect(syntaxError(() => parseJson("[1, 2"))).toMatchObject({ line: 1, reason: 'unexpected end of input, expected "," or "]"' });
    expect(syntaxError(() => parseJson("[1] [2]"))).toMatchObject({ reason: 'unexpected "[" after the end of the JSON value' });
    expect(syntaxError(() => parseJson('{"a": 1, "a": 2}')).reason).toBe('duplicate key "a"');
    expect(syntaxError(() => parseJson("01")).reason).toBe('unexpected "1" after the end of the JSON value');
    expect(syntaxError(() => parseJson('"tab\there"')).reason).toBe("unterminated or invalid string");
  });
});

describe("parseInstances", () => {
  it("one JSON array: its items, wherever they are", () => {
    const instances = parseInstances("[\n  1,\n  [2, 3]\n]\n");
    expect(instances.map(toValue)).toEqual([1, [2, 3]]);
    expect(instances.map((n) => n.line)).toEqual([2, 3]);
  });

  it("newline-delimited JSON: one instance per non-blank line", () => {
    const instances = parseInstances('{"x": 1}\n\n{"x": [2]}\r\n');
    expect(instances.map(toValue)).toEqual([{ x: 1 }, { x: [2] }]);
    expect(instances.map((n) => n.line)).toEqual([1, 3]);
  });

  it("a single object is one instance; an empty file none", () => {
    expect(parseInstances('{\n "x": 1\n}').map(toValue)).toEqual([{ x: 1 }]);
    expect(parseInstances(" \n")).toEqual([]);
  });

  it("errors point at the bad line of NDJSON, or into a multi-line document", () => {
    expect(syntaxError(() => parseInstances('{"x": 1}\n{"x": }\n')).line).toBe(2);
    expect(syntaxError(() => parseInstances('[\n  {"x": 1},\n  {"x" 2}\n]')).line).toBe(3);
  });
});
