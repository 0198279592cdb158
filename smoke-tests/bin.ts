// `npm run smoke`: the only place that sets the process's exit status.
import { main } from "./main";

// Node's deprecation warnings (e.g. DEP0123 when TLS connects to an IP address) are noise in CI logs.
process.noDeprecation = true;

void main().then((code) => {
  process.exitCode = code;
});
