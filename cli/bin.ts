#!/usr/bin/env node
// The `mlp` executable: the only place that sets the process's exit status.
import { main } from "./main";

// Node's deprecation warnings (e.g. DEP0123 when TLS connects to an IP address, as grpc-js sets
// the SNI name to the host) are noise on stderr for CLI users.
process.noDeprecation = true;

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
