/**
 * A throwaway self-signed certificate for 127.0.0.1/localhost, made with the system's openssl,
 * for TLS tests against the TF Serving double. The certificate is its own CA.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TestCertificate {
  cert: Buffer;
  key: Buffer;
  /** Where cert.pem is on disk (e.g. for `mlp --ca`); removed by cleanup(). */
  certPath: string;
  cleanup(): void;
}

export function selfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), "mlp-tls-"));
  const certPath = path.join(dir, "cert.pem");
  const keyPath = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: "pipe" },
  );
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
