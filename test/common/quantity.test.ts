import { describe, expect, it } from "vitest";
import { formatQuantity, parseQuantity } from "../../components/common/quantity";

describe("Kubernetes quantities", () => {
  it("parse to base units: cores and bytes", () => {
    expect(parseQuantity("500m")).toBe(0.5);
    expect(parseQuantity("2")).toBe(2);
    expect(parseQuantity("1.5")).toBe(1.5);
    expect(parseQuantity("2Gi")).toBe(2 * 2 ** 30);
    expect(parseQuantity("1G")).toBe(1e9);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(() => parseQuantity("lots")).toThrow(/"lots" is not a Kubernetes quantity/);
  });

  it("format back as Kubernetes writes them: whole or milli cores, the largest exact binary unit", () => {
    expect(formatQuantity(32, "cpu")).toBe("32");
    expect(formatQuantity(1.5, "cpu")).toBe("1500m");
    expect(formatQuantity(0, "cpu")).toBe("0");
    expect(formatQuantity(96 * 2 ** 30, "memory")).toBe("96Gi");
    expect(formatQuantity(1536 * 2 ** 20, "memory")).toBe("1536Mi");
    expect(formatQuantity(1e9, "memory")).toBe("1000000000");
    expect(formatQuantity(0, "memory")).toBe("0");
    expect(parseQuantity(formatQuantity(parseQuantity("64Gi") - parseQuantity("16Gi"), "memory"))).toBe(48 * 2 ** 30);
  });
});
