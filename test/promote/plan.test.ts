/**
 * The promotion planner, directly: current configs and a request in; the target's new config, steps and
 * smoke requirements out.
 */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../promote/errors";
import { PlanError, planPromotion, planText, type StackReleases } from "../../promote/plan";
import { parseReleases } from "../../promote/releases";

function stack(name: string, raw: Record<string, unknown> | undefined): StackReleases {
  return { stack: name, raw, releases: parseReleases(raw, `${name} releases`) };
}

const stable = (version: number) => ({ versions: [version], labels: { stable: version } });

describe("planPromotion", () => {
  it("plain: one step that makes the source's stable version the target's only, stable, version", () => {
    const plan = planPromotion(stack("staging", { linear: stable(5) }), stack("prod", { linear: stable(4) }), { canary: false });
    expect(plan.promotions).toEqual([{ model: "linear", version: 5, from: stable(4), canary: null, to: stable(5) }]);
    expect(plan.upToDate).toEqual([]);
    expect(plan.sourceRequirements).toEqual([{ model: "linear", version: 5 }]);
    expect(plan.steps).toEqual([
      {
        name: "promote",
        description: "serve linear 5 as stable (was version 4 (stable 4))",
        releases: { linear: stable(5) },
        requirements: [{ model: "linear", version: 5, label: "stable" }],
      },
    ]);
  });

  it("canary: the new version beside stable under canary, then stable moves and the old version is dropped", () => {
    const plan = planPromotion(stack("staging", { linear: stable(5) }), stack("prod", { linear: stable(4) }), { canary: true });
    const canary = { versions: [4, 5], labels: { stable: 4, canary: 5 } };
    expect(plan.promotions).toEqual([{ model: "linear", version: 5, from: stable(4), canary, to: stable(5) }]);
    expect(plan.steps.map((s) => [s.name, s.releases, s.requirements])).toEqual([
      [
        "canary",
        { linear: canary },
        [
          { model: "linear", version: 5, label: "canary" },
          { model: "linear", version: 4, label: "stable" },
        ],
      ],
      ["promote", { linear: stable(5) }, [{ model: "linear", version: 5, label: "stable" }]],
    ]);
    expect(planText(plan)).toBe(
      [
        "plan: promote staging -> prod (canary)",
        "  linear: version 4 (stable 4) -> version 5 (stable 5)",
        "  step 1 (canary): serve linear 5 as canary beside stable 4",
        "  step 2 (promote): serve linear 5 as stable (was version 4 (stable 4))",
      ].join("\n"),
    );
  });

  it("canary: goes straight to the last step when the canary is already deployed", () => {
    const plan = planPromotion(stack("staging", { linear: stable(5) }), stack("prod", { linear: { versions: [4, 5], labels: { stable: 4, canary: 5 } } }), { canary: true });
    expect(plan.steps.map((s) => s.name)).toEqual(["promote"]);
    expect(plan.promotions[0]!.canary).toBeNull();
  });

  it("rejects a version the source does not serve, naming what it serves", () => {
    const attempt = () => planPromotion(stack("staging", { linear: { versions: [4, 5], labels: { stable: 4, canary: 5 } } }), stack("prod", { linear: stable(4) }), { model: "linear", version: 6, canary: false });
    expect(attempt).toThrow(PlanError);
    expect(attempt).toThrow("staging does not serve linear version 6: its ml-platform:releases.linear serves versions 4, 5 (canary 5, stable 4)");
  });

  it("rejects a model the source does not pin, and a source that pins nothing", () => {
    expect(() => planPromotion(stack("staging", { linear: stable(5) }), stack("prod", {}), { model: "vision", canary: false })).toThrow(
      'staging pins no release of model "vision" at ml-platform:releases (it pins "linear")',
    );
    expect(() => planPromotion(stack("dev", undefined), stack("staging", {}), { canary: false })).toThrow("dev pins no model releases at ml-platform:releases: nothing to promote");
  });

  it("needs --version when the source has no stable label and several versions", () => {
    expect(() => planPromotion(stack("staging", { linear: { versions: [4, 5], labels: {} } }), stack("prod", {}), { canary: false })).toThrow(
      "staging serves linear versions 4, 5 with no stable label, so which version to promote is not clear: pass --model linear --version N",
    );
  });

  it("promotes an explicitly requested version that is not the source's stable one", () => {
    const plan = planPromotion(stack("staging", { linear: { versions: [4, 5], labels: { stable: 4, canary: 5 } } }), stack("prod", { linear: stable(4) }), { model: "linear", version: 5, canary: false });
    expect(plan.steps[0]!.releases).toEqual({ linear: stable(5) });
  });

  it("has nothing to do when the target already serves the version as its only, stable, version (strings or numbers)", () => {
    const plan = planPromotion(stack("staging", { linear: stable(5) }), stack("prod", { linear: { versions: ["5"], labels: { stable: "5" } } }), { canary: true });
    expect(plan.steps).toEqual([]);
    expect(plan.promotions).toEqual([]);
    expect(plan.upToDate).toEqual([{ model: "linear", version: 5 }]);
    expect(planText(plan)).toBe("plan: promote staging -> prod (canary)\n  linear: already serves version 5 as stable; nothing to do\n  nothing to do: prod is up to date");
  });

  it("still promotes when the version is stable but other versions or labels remain (finishing a canary)", () => {
    const plan = planPromotion(stack("staging", { linear: stable(4) }), stack("prod", { linear: { versions: [3, 4], labels: { stable: 4, canary: 3 } } }), { canary: true });
    expect(plan.steps.map((s) => [s.name, s.releases])).toEqual([["promote", { linear: stable(4) }]]);
  });

  it("keeps the target's other models exactly as they are, and promotes every source model by default", () => {
    const prod = { linear: stable(3), "image-classifier": { versions: ["7"], labels: { stable: "7" } }, ranker: { versions: [2], labels: { stable: 2 } } };
    const plan = planPromotion(stack("staging", { linear: stable(5), "image-classifier": stable(8) }), stack("prod", prod), { canary: false });
    expect(plan.promotions.map((p) => `${p.model} ${p.version}`)).toEqual(["image-classifier 8", "linear 5"]);
    expect(plan.steps[0]!.releases).toEqual({ linear: stable(5), "image-classifier": stable(8), ranker: { versions: [2], labels: { stable: 2 } } });

    const one = planPromotion(stack("staging", { linear: stable(5), "image-classifier": stable(8) }), stack("prod", prod), { model: "linear", canary: false });
    expect(one.steps[0]!.releases).toEqual({ ...prod, linear: stable(5) });
  });

  it("a first release cannot be a canary: there is no stable version to serve beside", () => {
    const attempt = () => planPromotion(stack("staging", { linear: stable(5) }), stack("prod", undefined), { canary: true });
    expect(attempt).toThrow("--canary serves the new version beside the target's stable one, but prod has no stable version of linear (its ml-platform:releases.linear: (not released)); promote without --canary");
    const plain = planPromotion(stack("staging", { linear: stable(5) }), stack("prod", undefined), { canary: false });
    expect(plain.steps[0]!.releases).toEqual({ linear: stable(5) });
  });

  it("rejects --version without --model, and the same stack twice", () => {
    expect(() => planPromotion(stack("staging", { linear: stable(5) }), stack("prod", {}), { version: 5, canary: false })).toThrow("--version needs --model");
    expect(() => planPromotion(stack("prod", { linear: stable(5) }), stack("prod", {}), { canary: false })).toThrow("the source and the target are the same stack (prod)");
  });
});

describe("parseReleases", () => {
  it("accepts numeric strings and reports every problem with its path", () => {
    expect(parseReleases({ linear: { versions: ["3", 4], labels: { stable: "4" } } }, "prod config")).toEqual({ linear: { versions: [3, 4], labels: { stable: 4 } } });
    expect(parseReleases(undefined, "prod config")).toEqual({});
    const attempt = () => parseReleases({ linear: { versions: [], labels: { stable: "x" } }, Bad: stable(1) }, "prod config ml-platform:releases");
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^invalid prod config ml-platform:releases:\n  - prod config ml-platform:releases\.linear\.versions: .*\n  - prod config ml-platform:releases\.linear\.labels\.stable: .*\n  - prod config ml-platform:releases\.Bad: /);
  });
});
