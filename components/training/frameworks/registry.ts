/** The frameworks TrainingJob knows. Adding one: write its module, then add it here (map and union). */
import { custom, type CustomSelection } from "./custom";
import { mxnet, type MxnetSelection } from "./mxnet";
import { pytorch, type PytorchSelection } from "./pytorch";
import { tensorflow, type TensorflowSelection } from "./tensorflow";
import type { FrameworkModule } from "./types";

export const FRAMEWORKS: Readonly<Record<string, FrameworkModule>> = { tensorflow, pytorch, mxnet, custom };

/** Framework, mode and role counts, checked together by the type system (and again at run time). */
export type FrameworkSelection = TensorflowSelection | PytorchSelection | MxnetSelection | CustomSelection;

export type FrameworkName = FrameworkSelection["framework"];

/** The module of a framework name, or undefined when there is none. */
export function frameworkModule(name: unknown): FrameworkModule | undefined {
  return typeof name === "string" && Object.hasOwn(FRAMEWORKS, name) ? FRAMEWORKS[name] : undefined;
}
