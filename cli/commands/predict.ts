/**
 * mlp predict: JSON in (row-format instances or a columnar request), dtypes and shapes from the
 * model's signature, JSON out. Input errors name the file, the line and the input at fault.
 */
import { InconsistentInstancesError, RequestError, TensorValueError, formatPath } from "../../client/errors";
import { parseColumnarRequest, predictColumns, predictInstances } from "../../client/predict-json";
import { defineCommand } from "../command";
import { InputError, UsageError } from "../errors";
import { JsonSyntaxError, nodeAt, parseInstances, parseJson, toValue, type JsonNode } from "../json-input";
import { connectionOptions, labelOption, modelRef, parseConnection, readInput, versionOption, withClient, type ConnectionArgs } from "./common";

interface PredictArgs extends ConnectionArgs {
  signature?: string;
  input: { form: "instances" | "request"; file: string };
}

/** The value node of `input` inside an instance or an "inputs" node (itself for a bare value). */
function inputNode(node: JsonNode, input: string | undefined): JsonNode {
  if (input !== undefined && node.kind === "object") return node.entries.get(input) ?? node;
  return node;
}

function describeValueError(error: TensorValueError): string {
  return error.input !== undefined ? `input "${error.input}"${formatPath(error.path)}: ${error.reason}` : error.reason;
}

/** Locates a client error in row-format input: the instance's line, the input's key or value line. */
function locateInInstances(error: unknown, file: string, instances: readonly JsonNode[]): unknown {
  const lineOf = (instance: number) => instances[instance]?.line;
  if (error instanceof InconsistentInstancesError) {
    return new InputError({ file, line: lineOf(error.instance!), input: error.input }, error.describe((i) => `line ${lineOf(i)}`), { cause: error });
  }
  if (error instanceof TensorValueError && error.instance !== undefined) {
    const node = nodeAt(inputNode(instances[error.instance]!, error.input), error.path);
    return new InputError({ file, line: node.line, input: error.input }, describeValueError(error), { cause: error });
  }
  if (error instanceof RequestError && error.instance !== undefined) {
    const instance = instances[error.instance]!;
    const keyLine = error.input !== undefined && instance.kind === "object" ? instance.keyLines.get(error.input) : undefined;
    return new InputError({ file, line: keyLine ?? instance.line, input: error.input }, error.reason, { cause: error });
  }
  if (error instanceof RequestError && error.input !== undefined) {
    // A problem with an input across all instances (e.g. the stacked shape): point at its first value.
    const first = instances.find((node) => node.kind !== "object" || node.entries.has(error.input!));
    return new InputError({ file, line: first ? inputNode(first, error.input).line : undefined, input: error.input }, error.reason, { cause: error });
  }
  return error;
}

/** Locates a client error in a columnar request document. */
function locateInRequest(error: unknown, file: string, document: JsonNode): unknown {
  const inputs = document.kind === "object" ? (document.entries.get("inputs") ?? document) : document;
  if (error instanceof TensorValueError) {
    const node = nodeAt(inputNode(inputs, error.input), error.path);
    return new InputError({ file, line: node.line, input: error.input }, describeValueError(error), { cause: error });
  }
  if (error instanceof RequestError && error.input !== undefined) {
    const line = inputs.kind === "object" ? (inputs.keyLines.get(error.input) ?? inputs.line) : inputs.line;
    return new InputError({ file, line, input: error.input }, error.reason, { cause: error });
  }
  return error;
}

function parseOrFail<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new InputError({ file, line: error.line }, `invalid JSON: ${error.reason} (column ${error.column})`, { cause: error });
    throw error;
  }
}

export const predictCommand = defineCommand<PredictArgs>({
  name: "predict",
  summary: "Run the model on JSON input; print JSON output",
  usage:
    "predict --endpoint HOST:PORT --model NAME [--version N | --label L] [--signature S] (--json-instances FILE | --json-request FILE) [--timeout-ms N] [--tls] [--ca FILE]",
  options: {
    ...connectionOptions,
    version: versionOption,
    label: labelOption,
    signature: { type: "string", requiresArg: true, describe: "Signature to run (default: serving_default)" },
    "json-instances": {
      type: "string",
      requiresArg: true,
      describe:
        'Row format: newline-delimited JSON with one instance per line, or one JSON array of instances; FILE "-" is stdin. An instance is an object of input name to value, or a bare value when the signature has one input. Prints {"predictions": [...]}.',
    },
    "json-request": {
      type: "string",
      requiresArg: true,
      describe: 'Columnar format: {"signature_name"?: ..., "inputs": {name: value, ...} or a bare value}; FILE "-" is stdin. Prints {"outputs": ...}.',
    },
  },
  examples: [
    ["$0 predict --endpoint localhost:8500 --model half_plus_two --json-instances xs.jsonl", "One prediction per line of xs.jsonl"],
    ['echo \'{"inputs": [1.0, 2.0]}\' | $0 predict --endpoint localhost:8500 --model half_plus_two --json-request -', "Columnar request from stdin"],
  ],
  parse(options) {
    const connection = parseConnection(options);
    const instances = options["json-instances"];
    const request = options["json-request"];
    if ((instances === undefined) === (request === undefined)) throw new UsageError("give exactly one of --json-instances FILE and --json-request FILE");
    const signature = options["signature"] === undefined ? undefined : String(options["signature"]);
    if (signature !== undefined && !signature) throw new UsageError("--signature must not be empty");
    return {
      ...connection,
      signature,
      input: instances !== undefined ? { form: "instances", file: String(instances) } : { form: "request", file: String(request) },
    };
  },
  async run(args, io) {
    const { name, text } = await readInput(args.input.file, io);
    const ref = { ...modelRef(args), signature: args.signature };
    const call = { timeoutMs: args.timeoutMs };

    if (args.input.form === "instances") {
      const instances = parseOrFail(name, () => parseInstances(text));
      if (instances.length === 0) throw new InputError({ file: name }, "no instances");
      const values = parseOrFail(name, () => instances.map(toValue));
      return withClient(args, io, async (client) => {
        try {
          return { predictions: (await predictInstances(client, ref, values, call)).predictions };
        } catch (error) {
          throw locateInInstances(error, name, instances);
        }
      });
    }

    const document = parseOrFail(name, () => parseJson(text));
    const value = parseOrFail(name, () => toValue(document));
    let request;
    try {
      request = parseColumnarRequest(value);
    } catch (error) {
      if (error instanceof RequestError) throw new InputError({ file: name, line: document.line }, error.reason, { cause: error });
      throw error;
    }
    return withClient(args, io, async (client) => {
      try {
        return { outputs: (await predictColumns(client, ref, request, call)).outputs };
      } catch (error) {
        throw locateInRequest(error, name, document);
      }
    });
  },
});
