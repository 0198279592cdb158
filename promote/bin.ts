#!/usr/bin/env node
// `npm run promote` / `npm run smoke:stack`: the only place that sets the process's exit status.
import { main } from "./main";

// Node's deprecation warnings (e.g. DEP0123 when TLS connects to an IP address through a
// port-forward) are noise in CI logs.
process.noDeprecation = true;

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
