/**
 * Runs the whole smoke run once, before the tests, with progress on stderr; the tests read the
 * report through vitest's `inject("smokeReport")`.
 */
import type { TestProject } from "vitest/node";
import { smokeFromEnvironment } from "./lib/from-environment";
import "./provided-context";

export default async function setup(project: TestProject): Promise<void> {
  project.provide("smokeReport", await smokeFromEnvironment());
}
