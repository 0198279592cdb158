import { describe, expect, it } from "vitest";
import { parsePlatformConfig, PlatformConfigError } from "../../stacks/config";
import { stackConfig, stackNames } from "../harness/stack-config";

/** A valid EKS config to break one piece at a time. */
function validConfig(): Record<string, unknown> {
  return {
    cluster: { name: "ml-test", subnetIds: ["subnet-a", "subnet-b"] },
    stores: [{ name: "models", bucketName: "acme-test-models", models: ["linear", "vision"] }],
    gpuPools: [{ name: "gpu", instanceTypes: ["g5.xlarge"], scaling: { min: 0, desired: 0, max: 2 } }],
    releases: { linear: { versions: [3, 4], labels: { stable: 3, canary: 4 } } },
    servings: [
      { name: "linear", replicas: 2, models: [{ name: "linear", store: "models" }] },
      { name: "vision", gpuPool: "gpu", resources: { gpus: 1 }, models: [{ name: "vision", store: "models", versionPolicy: { latest: 1 } }] },
    ],
    trainings: [{ name: "linear-train", store: "models", model: "linear", version: 5, example: { name: "linear" } }],
    mobileExports: [{ name: "linear-mobile", store: "models", model: "linear", version: 5, optimize: "float16" }],
  };
}

function problemsOf(raw: Record<string, unknown>, unknownKeys: string[] = []): readonly string[] {
  try {
    parsePlatformConfig(raw, unknownKeys);
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformConfigError);
    return (err as PlatformConfigError).problems;
  }
  throw new Error("expected a config error");
}

/** `validConfig()` with `patch` applied to its parsed copy. */
function withChange(patch: (config: any) => void): Record<string, unknown> {
  const config = validConfig();
  patch(config);
  return config;
}

describe("parsePlatformConfig", () => {
  it("accepts a valid config and every stack file", () => {
    expect(parsePlatformConfig(validConfig()).servings).toHaveLength(2);
    for (const stack of stackNames()) {
      const raw = Object.fromEntries(
        Object.entries(stackConfig(stack))
          .filter(([k]) => k.startsWith("ml-platform:"))
          .map(([k, v]) => [k.slice("ml-platform:".length), v]),
      );
      expect(() => parsePlatformConfig(raw), stack).not.toThrow();
    }
  });

  it("accepts versions stored as strings, as `pulumi config set --path` may store them", () => {
    const config = parsePlatformConfig(withChange((c) => (c.releases.linear = { versions: ["3", "4"], labels: { stable: "4" } })));
    expect(config.releases.linear).toEqual({ versions: [3, 4], labels: { stable: 4 } });
  });

  it("lists missing keys, wrong types and unknown keys all at once, with their paths", () => {
    const problems = problemsOf(
      withChange((c) => {
        delete c.cluster.name;
        c.cluster.region = "us-east-1";
        c.stores[0].forceDestroy = "yes";
        c.servings[0].replicaz = 3;
        c.trainings[0].version = 0;
      }),
      ["ml-platform:servingz"],
    );
    expect(problems).toEqual([
      "ml-platform:servingz: unknown config key; the program reads ml-platform:cluster, ml-platform:stores, ml-platform:gpuPools, ml-platform:releases, ml-platform:servings, ml-platform:trainings, ml-platform:jobSet, ml-platform:teams, ml-platform:kueue, ml-platform:mobileExports, ml-platform:tensorboards",
      expect.stringMatching(/^cluster\.name: .*string/),
      expect.stringMatching(/^cluster: Unrecognized key: "region"/),
      expect.stringMatching(/^stores\[0\]\.forceDestroy: .*boolean/),
      expect.stringMatching(/^servings\[0\]: Unrecognized key: "replicaz"/),
      expect.stringMatching(/^trainings\[0\]\.version: .*>0/),
    ]);
  });

  it("reports a missing cluster and an unknown cluster type", () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^cluster: /)]);
    expect(problemsOf({ cluster: { type: "gke", name: "x" } })).toEqual([expect.stringMatching(/^cluster\.type: .*'eks' \| 'local'/)]);
  });

  it.each<[string, (c: any) => void, string | RegExp]>([
    ["a serving's unknown store", (c) => (c.servings[0].models[0].store = "modelz"), 'servings[0].models[0].store: unknown store "modelz"; stores has "models"'],
    [
      "a serving's model the store does not hold",
      (c) => (c.servings[1].models[0].name = "resnet"),
      'servings[1].models[0].name: model "resnet" is not held by store "models" (its models: "linear", "vision"); add it to the store\'s models',
    ],
    ["a serving's unknown GPU pool", (c) => (c.servings[1].gpuPool = "gpus"), 'servings[1].gpuPool: unknown GPU pool "gpus"; gpuPools has "gpu"'],
    ["a training's unknown store", (c) => (c.trainings[0].store = "other"), 'trainings[0].store: unknown store "other"; stores has "models"'],
    [
      "a training writing a model no store holds",
      (c) => (c.trainings[0].model = "bert"),
      'trainings[0].model: model "bert" is not held by store "models" (its models: "linear", "vision"); add it to the store\'s models',
    ],
    ["a training's unknown GPU pool", (c) => (c.trainings[0].gpuPool = "a100"), 'trainings[0].gpuPool: unknown GPU pool "a100"; gpuPools has "gpu"'],
    ["a release of a model nothing serves", (c) => (c.releases.lineer = { versions: [1] }), 'releases.lineer: no serving serves model "lineer"; served models: "linear", "vision"'],
    [
      "a release label outside its versions",
      (c) => (c.releases.linear.labels.canary = 5),
      "releases.linear.labels.canary: points at version 5, which releases.linear.versions (3, 4) does not serve",
    ],
    [
      "a version policy on a model pinned by releases",
      (c) => (c.servings[0].models[0].versionPolicy = { latest: 2 }),
      "servings[0].models[0].versionPolicy: conflicts with releases.linear, which pins the versions served; remove one",
    ],
    ["duplicate serving names", (c) => (c.servings[1].name = "linear"), 'servings[1].name: "linear" is already used by servings[0]'],
    ["a mobile export's unknown store", (c) => (c.mobileExports[0].store = "other"), 'mobileExports[0].store: unknown store "other"; stores has "models"'],
    [
      "a mobile export of a model the store does not hold",
      (c) => (c.mobileExports[0].model = "bert"),
      'mobileExports[0].model: model "bert" is not held by store "models" (its models: "linear", "vision"); add it to the store\'s models',
    ],
    [
      "duplicate mobile export names",
      (c) => c.mobileExports.push({ ...c.mobileExports[0], version: 4 }),
      'mobileExports[1].name: "linear-mobile" is already used by mobileExports[0]',
    ],
    ["a mobile export's unknown optimization", (c) => (c.mobileExports[0].optimize = "int4"), /^mobileExports\[0\]\.optimize: .*"none"\|"float16"\|"dynamic-range"/],
    ["a mobile export's negative threshold", (c) => (c.mobileExports[0].maxAbsDiff = -0.1), /^mobileExports\[0\]\.maxAbsDiff: .*>=0/],
    ["a mobile export's unknown key", (c) => (c.mobileExports[0].quantize = true), 'mobileExports[0]: Unrecognized key: "quantize"'],
    [
      "a mobile export's component rule",
      (c) => (c.mobileExports[0].resources = { memory: "2Gm" }),
      'mobileExports[0].resources.memory: "2Gm" is not a positive Kubernetes quantity; use e.g. "512Mi" or "4Gi"',
    ],
    ["a GPU pool without subnets", (c) => delete c.cluster.subnetIds, "gpuPools[0].subnetIds: required when cluster.subnetIds is not set"],
    ["sourceRanges without a load balancer", (c) => (c.servings[0].service = { sourceRanges: ["10.0.0.0/8"] }), 'servings[0].service.sourceRanges: only applies to type "InternalLoadBalancer"'],
  ])("rejects %s", (_case, patch, message) => {
    expect(problemsOf(withChange(patch))).toEqual([typeof message === "string" ? message : expect.stringMatching(message)]);
  });

  it("applies each component's own rules, reported at config paths", () => {
    const problems = problemsOf(
      withChange((c) => {
        c.stores[0].bucketName = "Acme_Models";
        c.gpuPools[0].instanceTypes = ["m5.large"];
        c.servings[0].resources = { gpus: 1 };
        c.trainings[0].resources = { gpus: 2 };
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stores\[0\]\.bucketName: "Acme_Models" may contain only lowercase letters/),
        expect.stringMatching(/^gpuPools\[0\]\.instanceTypes\[0\]: "m5\.large" is not a known NVIDIA GPU instance type/),
        expect.stringMatching(/^servings\[0\]\.resources\.gpus: requests 1 GPU\(s\) but no gpuPool is set/),
        expect.stringMatching(/^trainings\[0\]\.resources\.gpus: 2 GPU\(s\) per pod need gpuPool/),
      ]),
    );
  });

  it("requires a user trainer's framework, mode, image and command, and forbids them with the example", () => {
    expect(problemsOf(withChange((c) => (c.trainings[0] = { name: "t", store: "models", model: "linear", version: 1 })))).toEqual([
      "trainings[0].framework: is required (or use example: { name: linear } for the example trainer)",
      "trainings[0].mode: is required (or use example: { name: linear } for the example trainer)",
      "trainings[0].image: is required (or use example: { name: linear } for the example trainer)",
      "trainings[0].command: is required (or use example: { name: linear } for the example trainer)",
    ]);
    expect(problemsOf(withChange((c) => (c.trainings[0].image = "my/trainer:1.0")))).toEqual([
      "trainings[0].image: cannot be set together with example (the example trainer brings its own)",
    ]);
    expect(problemsOf(withChange((c) => Object.assign(c.trainings[0], { example: undefined, framework: "jax", mode: "single", image: "i:1", command: ["x"] })))).toEqual([
      expect.stringMatching(/^trainings\[0\]\.framework: "jax" is not supported; use one of "tensorflow", "pytorch", "mxnet", "custom"/),
    ]);
  });

  it("keeps a local cluster free of AWS: no S3 stores, no GPU pools", () => {
    const problems = problemsOf(withChange((c) => (c.cluster = { type: "local" })));
    expect(problems).toEqual(
      expect.arrayContaining([
        'stores[0].type: "s3" needs AWS, but cluster.type is "local"; use type "in-cluster"',
        'gpuPools[0]: GPU node pools of type "eks" are EKS managed node groups; a "local" cluster cannot have them (describe its GPU nodes with type "existing")',
      ]),
    );
  });

  it("works without trainings, GPU pools or releases", () => {
    const config = parsePlatformConfig({
      cluster: { name: "c" },
      stores: [{ name: "models", models: ["linear"] }],
      servings: [{ name: "linear", models: [{ name: "linear", store: "models" }] }],
    });
    expect([config.trainings, config.gpuPools, config.releases]).toEqual([[], [], {}]);
    expect(config.cluster).toMatchObject({ type: "eks", namespace: "ml" });
  });
});

describe("tensorboards", () => {
  const withTensorBoards = (tensorboards: unknown[]) => withChange((c) => (c.tensorboards = tensorboards));

  it("accepts TensorBoards of the stores' models, with the component's defaults", () => {
    const config = parsePlatformConfig(withTensorBoards([{ name: "team", models: [{ name: "linear", store: "models" }, { name: "vision", store: "models" }], syncIntervalSeconds: "10" }]));
    expect(config.tensorboards).toEqual([{ name: "team", models: [{ name: "linear", store: "models" }, { name: "vision", store: "models" }], syncIntervalSeconds: 10 }]);
  });

  it("runs a team's TensorBoard in the team's namespace; an unknown team or a namespace beside a team is named", () => {
    const team = { name: "research", groups: ["researchers"], quota: { cpu: "4", memory: "8Gi" } };
    const linear = [{ name: "linear", store: "models" }];
    expect(parsePlatformConfig(withChange((c) => ((c.teams = [team]), (c.tensorboards = [{ name: "linear", team: "research", models: linear }])))).tensorboards[0]!.team).toBe("research");
    expect(
      problemsOf(
        withChange((c) => {
          c.teams = [team];
          c.tensorboards = [
            { name: "a", team: "nope", models: linear },
            { name: "b", team: "research", namespace: "other", models: linear },
          ];
        }),
      ),
    ).toEqual(['tensorboards[0].team: unknown team "nope"; teams has "research"', 'tensorboards[1].namespace: conflicts with team "research", whose namespace "research" it runs in; remove namespace']);
  });

  it("names every problem by its path: shape, references, duplicates and the component's own rules", () => {
    expect(
      problemsOf(
        withTensorBoards([
          { name: "team", models: [{ name: "linear", store: "modelz" }, { name: "bert", store: "models" }] },
          { name: "team", models: [{ name: "linear", store: "models" }], pathPrefix: "tensorboard/" },
          { name: "vision", models: [{ name: "vision", store: "models" }, { name: "vision", store: "models" }], resources: { memory: "1GB" } },
          { name: "empty", models: [], public: true },
        ]),
      ),
    ).toEqual([
      expect.stringMatching(/^tensorboards\[3\]\.models: Too small/),
      'tensorboards[3]: Unrecognized key: "public"',
    ]);
    expect(
      problemsOf(
        withTensorBoards([
          { name: "team", models: [{ name: "linear", store: "modelz" }, { name: "bert", store: "models" }] },
          { name: "team", models: [{ name: "linear", store: "models" }], pathPrefix: "tensorboard/" },
          { name: "vision", models: [{ name: "vision", store: "models" }, { name: "vision", store: "models" }], resources: { memory: "1GB" } },
        ]),
      ),
    ).toEqual([
      'tensorboards[1].name: "team" is already used by tensorboards[0]',
      'tensorboards[0].models[0].store: unknown store "modelz"; stores has "models"',
      'tensorboards[0].models[1].name: model "bert" is not held by store "models" (its models: "linear", "vision"); add it to the store\'s models',
      expect.stringMatching(/^tensorboards\[1\]\.pathPrefix: "tensorboard\/" must start with "\/"/),
      expect.stringMatching(/^tensorboards\[2\]\.models\[1\]\.name: "vision" is already listed at models\[0\]/),
      expect.stringMatching(/^tensorboards\[2\]\.resources\.memory: "1GB" is not a positive Kubernetes quantity/),
    ]);
  });
});
