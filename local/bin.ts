// `npm run local:up|local:smoke|local:down`: the only place that sets the process's exit status.
import { main } from "./main";
import { markInterrupted } from "./processes";

// Ctrl-C also reaches the tools being run; wait for them (Pulumi cancels cleanly) instead of exiting under them.
process.on("SIGINT", markInterrupted);

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
