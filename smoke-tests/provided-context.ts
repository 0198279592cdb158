/** What smoke-tests/main.ts hands to the tests through vitest's provide/inject. */
import type { SmokeReport } from "./lib/report";

declare module "vitest" {
  export interface ProvidedContext {
    smokeReport: SmokeReport;
  }
}

export {};
