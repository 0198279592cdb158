// `npm run local:up|local:smoke|local:down`: the only place that sets the process's exit status.
import { main } from "./main";

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
