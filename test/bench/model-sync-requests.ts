/**
 * `npm run bench:sync [-- <model-sync.sh>]`: what one pass of the model sync asks of the store, for a model
 * with 1, 300 and 3,000 published versions (3 files each, plus `_MANIFEST` and `_SUCCESS`: 5 objects per
 * version), on SeaweedFS behind the test harness's counting proxy (test/harness/seaweedfs-s3.ts), with
 * Debian's AWS CLI. Policy `latest: 1`. It lives with the tests because it measures a container script on the
 * test harness (bench/ is the runtime side's, which never imports either).
 *
 * - first pass: a new pod's init container (nothing on disk): finds and downloads the newest version;
 * - steady pass: what the sidecar does every `syncIntervalSeconds` once the version is in place.
 *
 * Target (docs/model-delivery.md, "Requests per pass"): a steady pass makes ceil(versions / 1000) listings
 * and nothing else, whatever the number of files. Exits 1 when a steady pass asks for more.
 * BENCH_SYNC_VERSIONS=1,300,3000 sets the version counts; an argument runs another sync script (to compare; a
 * copy of the current script needs store-sync-lib.sh beside it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { MODEL_SYNC_SCRIPT, modelSyncScripts, syncManifestText } from "../../components/serving/sync";
import { AWS_CLI, run } from "../harness/s3-server";
import { mountedScript } from "../harness/scripts-mount";
import { type S3Request, type SeaweedS3Server, startSeaweedS3 } from "../harness/seaweedfs-s3";
import { type FileContents, publishedVersion, under } from "../harness/version-manifest";

const VERSION_COUNTS = (process.env["BENCH_SYNC_VERSIONS"] ?? "1,300,3000").split(",").map(Number);
const SCRIPT = process.argv[2] ?? mountedScript("model-sync", modelSyncScripts, MODEL_SYNC_SCRIPT);
const BUCKET = "models";

interface PassFigures {
  listings: number;
  gets: number;
  other: number;
  seconds: number;
}

function versionObjects(model: string, version: number): FileContents {
  return under(
    `models/${model}/${version}`,
    publishedVersion({
      "saved_model.pb": `graph ${model} ${version}`.padEnd(1024, "g"),
      "variables/variables.index": `index ${model} ${version}`,
      "variables/variables.data-00000-of-00001": `data ${model} ${version}`.padEnd(4096, "d"),
    }),
  );
}

async function pass(s3: SeaweedS3Server, modelsDir: string, modelsFile: string): Promise<PassFigures> {
  const mark = s3.requests.mark();
  const start = performance.now();
  const result = await run("sh", [SCRIPT, "once"], {
    env: { ...s3.env, AWS_CLI, S3_BUCKET: BUCKET, SYNC_MANIFEST: modelsFile, MODELS_DIR: modelsDir },
    timeoutMs: 600_000,
  });
  const seconds = (performance.now() - start) / 1000;
  if (result.code !== 0) throw new Error(`${SCRIPT} once failed (${result.code}):\n${result.stderr}`);
  const requests: S3Request[] = s3.requests.all(mark);
  const listings = requests.filter((r) => r.kind === "list").length;
  const gets = requests.filter((r) => r.kind === "get").length;
  return { listings, gets, other: requests.length - listings - gets, seconds };
}

const describePass = (p: PassFigures) => `${p.listings} LIST + ${p.gets} GET${p.other ? ` + ${p.other} other` : ""} = ${p.listings + p.gets + p.other} (${p.seconds.toFixed(2)} s)`;

async function main(): Promise<number> {
  const s3 = await startSeaweedS3(BUCKET);
  const work = mkdtempSync(join(tmpdir(), "bench-sync-"));
  let missed = 0;
  try {
    console.log(`model-sync requests per pass (${SCRIPT}), policy latest: 1, 5 objects per version`);
    console.log("versions | objects | first pass (new pod) | steady pass | steady target");
    for (const versions of VERSION_COUNTS) {
      const model = `bench-${versions}`;
      const objects: FileContents = {};
      for (let v = 1; v <= versions; v++) Object.assign(objects, versionObjects(model, v));
      await s3.putMany(objects);

      const modelsDir = join(work, model, "models");
      mkdirSync(modelsDir, { recursive: true });
      const modelsFile = join(work, model, "store-0.models");
      writeFileSync(modelsFile, syncManifestText([{ name: model, versionPolicy: { latest: 1 } }]));
      const first = await pass(s3, modelsDir, modelsFile);
      const steady = await pass(s3, modelsDir, modelsFile);
      const target = Math.ceil(versions / 1000);
      const met = steady.listings <= target && steady.gets + steady.other === 0;
      if (!met) missed++;
      console.log(
        `${versions} | ${Object.keys(objects).length} | ${describePass(first)} | ${describePass(steady)} | ${target} LIST ${met ? "(met)" : "(MISSED)"}`,
      );
    }
  } finally {
    await s3.close();
    rmSync(work, { recursive: true, force: true });
  }
  return missed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
