import { describe, expect, it } from "vitest";
import { quantityProblem } from "../../components/common/validation";

describe("quantityProblem", () => {
  it.each([
    ["500m", "cpu"],
    ["2", "cpu"],
    ["0.5", "cpu"],
    ["512Mi", "memory"],
    ["4Gi", "memory"],
    ["1.5Gi", "memory"],
    ["1e9", "memory"],
    ["10G", "storage"],
  ] as const)("accepts %s as %s", (value, kind) => {
    expect(quantityProblem(value, kind)).toBeUndefined();
  });

  it.each([
    ["4GB", "memory", /"4GB" is not a positive Kubernetes quantity; use e\.g\. "512Mi" or "4Gi"/],
    ["-1", "cpu", /"-1" is not a positive Kubernetes quantity; use e\.g\. "500m" or "2"/],
    ["0", "cpu", /is not a positive/],
    ["", "memory", /is not a positive/],
    ["lots", "cpu", /is not a positive/],
    ["512m", "memory", /"512m" means milli-bytes; use "Mi" or "Gi" \(e\.g\. "512Mi"\)/],
  ] as const)("rejects %s as %s", (value, kind, message) => {
    expect(quantityProblem(value, kind)).toMatch(message);
  });

  it("rejects non-strings", () => {
    expect(quantityProblem(2, "cpu")).toMatch(/^2 is not a positive Kubernetes quantity/);
  });
});
