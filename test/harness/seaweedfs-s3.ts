/**
 * A real S3-protocol server for the fast suite: SeaweedFS's S3 gateway on 127.0.0.1 (the same `weed` and
 * arguments as the in-cluster store, see seaweedfs-server.ts), which paginates listings at 1,000 keys and
 * common prefixes as S3 does and stores any key, newlines included. It runs without identities, so it
 * does not check signatures: tests fill it with plain HTTP, while the scripts under test use the AWS CLI
 * with the same static credentials they would use against any store (the slow suite checks identities).
 *
 * Every request goes through a small proxy that records it, so tests and the benchmark can count what a
 * script asks of the store (`requests`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seaweedServerArgs } from "../../components/storage/in-cluster/in-cluster-store-specs";
import { AWS_CLI, requireAwsCli, run, type S3TestServer } from "./s3-server";
import { freePortPair, weedBinary } from "./seaweedfs-server";

export type S3RequestKind = "list" | "get" | "head" | "put" | "delete" | "other";

export interface S3Request {
  kind: S3RequestKind;
  method: string;
  /** Object key (URL-decoded); empty for bucket-level requests such as listings. */
  key: string;
  query: URLSearchParams;
}

export interface S3RequestLog {
  /** Every request since the last `clear()` (or since `from`, a `mark()`), in order. */
  all(from?: number): S3Request[];
  count(kind?: S3RequestKind): number;
  clear(): void;
  /** A position in the log, for `all(from)`: lets concurrent tests look at their own requests only. */
  mark(): number;
}

export interface SeaweedS3Server extends S3TestServer {
  requests: S3RequestLog;
  /** Uploads many objects over plain HTTP, 16 at a time (about 1,000 objects a second here). */
  putMany(objects: Record<string, string | Buffer>): Promise<void>;
  /** An object's content, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  remove(key: string): Promise<void>;
}

const encodeKey = (key: string) => key.split("/").map(encodeURIComponent).join("/");
const xmlText = (text: string) =>
  text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) =>
    entity === "lt" ? "<" : entity === "gt" ? ">" : entity === "quot" ? '"' : entity === "apos" ? "'" : entity === "amp" ? "&" : String.fromCodePoint(entity[1] === "x" ? parseInt(entity.slice(2), 16) : Number(entity.slice(1))),
  );

function classify(method: string, key: string, query: URLSearchParams): S3RequestKind {
  if (method === "GET" && key === "" && (query.has("list-type") || query.has("prefix") || query.has("delimiter"))) return "list";
  if (method === "GET" && key !== "") return "get";
  if (method === "HEAD") return "head";
  if (method === "PUT") return "put";
  if (method === "DELETE") return "delete";
  return "other";
}

/** Forwards every request to the S3 gateway unchanged and records it. */
function countingProxy(upstreamPort: number, bucket: string, log: S3Request[]): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const path = decodeURIComponent(url.pathname).replace(/^\//, "");
    const key = path === bucket ? "" : path.startsWith(`${bucket}/`) ? path.slice(bucket.length + 1) : path;
    const method = req.method ?? "GET";
    log.push({ kind: classify(method, key, url.searchParams), method, key, query: url.searchParams });
    const upstream = httpRequest({ host: "127.0.0.1", port: upstreamPort, method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
}

/**
 * Waits until the bucket exists and takes writes. A fresh server allocates its first volumes only on the
 * first write, several seconds after it answers: a probe object takes that wait here, once.
 */
async function untilReady(endpoint: string, bucket: string, weedLog: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const attempt = async (method: string, path: string, ok: (status: number) => boolean) => {
    let last = "";
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${endpoint}/${path}`, { method, ...(method === "PUT" ? { body: "" } : {}) });
        await response.arrayBuffer();
        if (ok(response.status)) return;
        last = `HTTP ${response.status}`;
      } catch (err) {
        last = String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`SeaweedFS did not answer ${method} /${path} within 60 s (${last}):\n${weedLog().slice(-2000)}`);
  };
  await attempt("PUT", bucket, (status) => status === 200 || status === 409);
  await attempt("PUT", `${bucket}/.ready`, (status) => status === 200);
  await attempt("DELETE", `${bucket}/.ready`, (status) => status === 204 || status === 200);
}

/** Starts SeaweedFS (master, volume, filer, S3 gateway) with one empty bucket, behind a counting proxy. */
export async function startSeaweedS3(bucket = "models"): Promise<SeaweedS3Server> {
  requireAwsCli();
  const work = mkdtempSync(join(tmpdir(), "seaweedfs-s3-"));
  const home = join(work, "home");
  mkdirSync(join(work, "data"));
  mkdirSync(home);
  const emptyConfig = join(home, "config");
  writeFileSync(emptyConfig, "");

  const [s3Port, master, volume, filer] = [await freePortPair(), await freePortPair(), await freePortPair(), await freePortPair()];
  const args = seaweedServerArgs()
    .filter((arg) => !arg.startsWith("-s3.config="))
    .map((arg) => (arg.startsWith("-dir=") ? `-dir=${join(work, "data")}` : arg === "-s3.ip.bind=0.0.0.0" ? "-s3.ip.bind=127.0.0.1" : arg));
  let weedLog = "";
  const weed: ChildProcess = spawn(weedBinary(), [...args, `-s3.port=${s3Port}`, `-master.port=${master}`, `-volume.port=${volume}`, `-filer.port=${filer}`], {
    cwd: work,
    stdio: ["ignore", "pipe", "pipe"],
  });
  weed.stdout?.on("data", (d: Buffer) => (weedLog = (weedLog + d.toString()).slice(-20_000)));
  weed.stderr?.on("data", (d: Buffer) => (weedLog = (weedLog + d.toString()).slice(-20_000)));

  const recorded: S3Request[] = [];
  const proxy = countingProxy(s3Port, bucket, recorded);
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  const close = async () => {
    // A throwaway server: its data goes with it, so there is nothing to shut down gracefully.
    weed.kill("SIGKILL");
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await untilReady(endpoint, bucket, () => weedLog);
  } catch (err) {
    await close();
    throw err;
  }
  recorded.length = 0;

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: "TESTKEY",
    AWS_SECRET_ACCESS_KEY: "TESTSECRET",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: emptyConfig,
    AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    S3_ENDPOINT: endpoint,
  };
  const objectUrl = (key: string) => `${endpoint}/${bucket}/${encodeKey(key)}`;
  const put = async (key: string, body: string | Buffer) => {
    const response = await fetch(objectUrl(key), { method: "PUT", body: new Uint8Array(Buffer.from(body)) });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`put ${JSON.stringify(key)}: HTTP ${response.status}`);
  };

  return {
    endpoint,
    bucket,
    env,
    requests: {
      all: (from = 0) => recorded.slice(from),
      mark: () => recorded.length,
      count: (kind) => (kind ? recorded.filter((r) => r.kind === kind).length : recorded.length),
      clear: () => {
        recorded.length = 0;
      },
    },
    aws: (args) => run(AWS_CLI, [...args, "--endpoint-url", endpoint], { env }),
    put,
    async putMany(objects) {
      const entries = Object.entries(objects);
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const [key, body] = entries[next++]!;
          await put(key, body);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    },
    async get(key) {
      const response = await fetch(objectUrl(key));
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`get ${JSON.stringify(key)}: HTTP ${response.status}`);
      return body;
    },
    async remove(key) {
      const response = await fetch(objectUrl(key), { method: "DELETE" });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`delete ${JSON.stringify(key)}: HTTP ${response.status}`);
    },
    async keys(prefix = "") {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const query = new URLSearchParams({ "list-type": "2", prefix, "encoding-type": "url" });
        if (token) query.set("continuation-token", token);
        const response = await fetch(`${endpoint}/${bucket}?${query}`);
        const xml = await response.text();
        if (!response.ok) throw new Error(`list ${prefix}: HTTP ${response.status}: ${xml}`);
        for (const match of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(decodeURIComponent(xmlText(match[1]!).replace(/\+/g, " ")));
        token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? "") || undefined : undefined;
      } while (token);
      return keys.sort();
    },
    close,
  };
}
