/**
 * Scripts ship in ConfigMaps, and some call or source siblings ("$here/<file>"): each bundle a component
 * mounts must hold every sibling its scripts use, and the sync scripts must run from such a bundle alone,
 * as in a pod, with the store sync helpers they share (store-sync-lib.sh).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mobileExportScripts } from "../../components/mobile/scripts";
import { logSyncScripts } from "../../components/observability/plan";
import { modelSyncScripts } from "../../components/serving/sync";
import { STORE_SYNC_LIB } from "../../components/storage/version-publishing";
import { trainingScripts } from "../../components/training/scripts";
import { run } from "../harness/s3-server";
import { writeScriptsMount } from "../harness/scripts-mount";

const BUNDLES: Record<string, Record<string, string>> = {
  "TfServing's model sync": modelSyncScripts(),
  "TensorBoard's log sync": logSyncScripts(),
  "MobileExport's pod": mobileExportScripts(),
  "TrainingJob's pods": trainingScripts(),
};

/** The siblings a script uses: "$here/<file>" or "$(dirname "$0")/<file>" (not paths into other folders). */
function siblingsUsed(script: string): string[] {
  return [...script.matchAll(/\$(?:here|\(dirname "\$0"\))\/([A-Za-z0-9._-]+)(?![/A-Za-z0-9._-])/g)].map((match) => match[1]!);
}

describe("script bundles", () => {
  it.each(Object.entries(BUNDLES))("%s ships every sibling its scripts call or source", (_, bundle) => {
    const missing = Object.entries(bundle)
      .filter(([name]) => name.endsWith(".sh"))
      .flatMap(([name, script]) => siblingsUsed(script).filter((sibling) => !(sibling in bundle)).map((sibling) => `${name} -> ${sibling}`));
    expect(missing).toEqual([]);
  });

  it("finds the siblings the scripts use (the check above is not vacuous)", () => {
    expect(siblingsUsed(modelSyncScripts()["model-sync.sh"]!)).toContain(STORE_SYNC_LIB);
    expect(siblingsUsed(logSyncScripts()["log-sync.sh"]!)).toContain(STORE_SYNC_LIB);
    expect(siblingsUsed(mobileExportScripts()["fetch-version.sh"]!)).toContain("model-sync.sh");
  });
});

describe("the sync scripts run from their bundle alone", () => {
  it("model-sync.sh uses the shared helpers beside it (is_version, die, the int64 bound)", async () => {
    const dir = writeScriptsMount(modelSyncScripts());
    const result = await run("sh", [join(dir, "model-sync.sh"), "fetch", "linear", "9223372036854775808"], { env: { ...process.env, S3_BUCKET: "models" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\S+Z model-sync: "9223372036854775808" is not a version number \(1 to 9223372036854775807\)$/m);
  });

  it("log-sync.sh uses the shared helpers beside it", async () => {
    const dir = writeScriptsMount(logSyncScripts());
    const result = await run("sh", [join(dir, "log-sync.sh"), "sometimes"], { env: { ...process.env, S3_BUCKET: "logs", SYNC_MODELS: "linear" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\S+Z log-sync: usage: log-sync.sh once\|watch$/m);
  });

  it("a sync script shipped without the helpers stops at once, saying what is missing", async () => {
    const dir = writeScriptsMount({ "model-sync.sh": modelSyncScripts()["model-sync.sh"]! });
    const result = await run("sh", [join(dir, "model-sync.sh"), "once"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`model-sync: ${STORE_SYNC_LIB} not found beside ${join(dir, "model-sync.sh")}`);
  });
});

describe("store-sync-lib.sh", () => {
  const lib = modelSyncScripts()[STORE_SYNC_LIB]!;
  const shell = async (commands: string) => {
    const dir = writeScriptsMount({ [STORE_SYNC_LIB]: lib });
    return run("sh", ["-c", `. "${join(dir, STORE_SYNC_LIB)}"; ${commands}`]);
  };

  it("is_version: 1 to int64's maximum, spelled without sign or leading zero", async () => {
    const names = ["1", "42", "9223372036854775807", "9223372036854775808", "10000000000000000000", "0", "01", "+1", "-1", "1.0", "", "1e3", "९"];
    const result = await shell(names.map((name) => `if is_version '${name}'; then echo yes; else echo no; fi`).join("; "));
    expect(result.stdout.trim().split("\n")).toEqual(["yes", "yes", "yes", "no", "no", "no", "no", "no", "no", "no", "no", "no", "no"]);
  });

  it("backoff_passes: 1, 2, 4, ... up to BACKOFF_MAX_PASSES", async () => {
    const result = await shell(`BACKOFF_MAX_PASSES=64; for n in 1 2 3 4 5 6 7 8 9 30; do backoff_passes "$n"; echo; done`);
    expect(result.stdout.trim().split("\n")).toEqual(["1", "2", "4", "8", "16", "32", "64", "64", "64", "64"]);
  });

  it("json_element: one element of the AWS CLI's JSON output, without indentation or comma", async () => {
    const result = await shell(`for line in '    "models/linear/1/",' '    "models/linear/2/"' '[' '  12,'; do json_element "$line"; printf '%s|' "$element"; done`);
    expect(result.stdout).toBe('"models/linear/1/"|"models/linear/2/"|[|12|');
  });
});
