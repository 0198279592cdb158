import { describeModel } from "../../client/predict-json";
import { defineCommand } from "../command";
import { connectionOptions, labelOption, modelRef, parseConnection, versionOption, withClient, type ConnectionArgs } from "./common";

export const metadataCommand = defineCommand<ConnectionArgs>({
  name: "metadata",
  summary: "Print the model's signatures: inputs and outputs with dtype and shape",
  usage: "metadata --endpoint HOST:PORT --model NAME [--version N | --label L] [--timeout-ms N] [--tls] [--ca FILE]",
  options: { ...connectionOptions, version: versionOption, label: labelOption },
  examples: [["$0 metadata --endpoint localhost:8500 --model half_plus_two", "Signatures of the latest version"]],
  parse: parseConnection,
  run: (args, io) => withClient(args, io, (client) => describeModel(client, modelRef(args), { timeoutMs: args.timeoutMs })),
});
