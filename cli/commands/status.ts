import { describeStatus } from "../../client/predict-json";
import { defineCommand } from "../command";
import { connectionOptions, modelRef, parseConnection, versionOption, withClient, type ConnectionArgs } from "./common";

export const statusCommand = defineCommand<ConnectionArgs>({
  name: "status",
  summary: "Print the state of each version of the model (as TF Serving's REST GET /v1/models/NAME)",
  usage: "status --endpoint HOST:PORT --model NAME [--version N] [--timeout-ms N] [--tls] [--ca FILE]",
  options: { ...connectionOptions, version: versionOption },
  examples: [["$0 status --endpoint localhost:8500 --model half_plus_two", "Every version's state"]],
  parse: parseConnection,
  run: (args, io) => withClient(args, io, (client) => describeStatus(client, modelRef(args), { timeoutMs: args.timeoutMs })),
});
