/**
 * The fast suite's S3-protocol server paginates as S3 does, so tests can see what a script does with
 * listings over 1,000 entries, and it keeps keys that no file system name could hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SeaweedS3Server, startSeaweedS3 } from "./seaweedfs-s3";

describe("SeaweedFS S3 test server with the Debian AWS CLI", () => {
  let s3: SeaweedS3Server;
  beforeAll(async () => {
    s3 = await startSeaweedS3("models");
  });
  afterAll(async () => s3?.close());

  it("pages listings of more than 1,000 keys and common prefixes, and the AWS CLI follows every page", async () => {
    const objects: Record<string, string> = {};
    for (let v = 1; v <= 1_050; v++) objects[`paged/${v}/_SUCCESS`] = "";
    await s3.putMany(objects);

    s3.requests.clear();
    const keys = await s3.aws(["s3api", "list-objects-v2", "--bucket", "models", "--prefix", "paged/", "--query", "Contents[].Key", "--output", "json"]);
    expect(keys.code, keys.stderr).toBe(0);
    expect(JSON.parse(keys.stdout)).toHaveLength(1_050);
    expect(s3.requests.count("list")).toBe(2);
    expect(s3.requests.all()[1]!.query.get("continuation-token")).toBeTruthy();

    s3.requests.clear();
    const prefixes = await s3.aws(["s3api", "list-objects-v2", "--bucket", "models", "--prefix", "paged/", "--delimiter", "/", "--query", "CommonPrefixes[].Prefix", "--output", "json"]);
    expect(prefixes.code, prefixes.stderr).toBe(0);
    expect(JSON.parse(prefixes.stdout)).toHaveLength(1_050);
    expect(s3.requests.count("list")).toBe(2);
  });

  it("stores keys with newlines and glob characters, and the CLI's JSON output escapes them", async () => {
    const hostile = "hostile/README\nhostile/9/_SUCCESS";
    await s3.put(hostile, "x");
    await s3.put("hostile/1/vocab [v2] *.txt?", "y");
    expect(await s3.keys("hostile/")).toEqual(["hostile/1/vocab [v2] *.txt?", hostile]);
    const listed = await s3.aws(["s3api", "list-objects-v2", "--bucket", "models", "--prefix", "hostile/", "--delimiter", "/", "--query", "CommonPrefixes[].Prefix", "--output", "json"]);
    expect(listed.stdout).toContain('"hostile/README\\nhostile/"');
    expect(JSON.parse(listed.stdout)).toEqual(["hostile/1/", "hostile/README\nhostile/"]);
    expect((await s3.get("hostile/1/vocab [v2] *.txt?"))?.toString()).toBe("y");
  });
});
