/**
 * The ml-platform Pulumi program. `pulumi up --stack <env>` runs it with `stacks/Pulumi.<env>.yaml`.
 * Config is validated as a whole before any resource is declared.
 */
import { loadPlatformConfig } from "./config";
import { definePlatform } from "./platform";

const { outputs } = definePlatform(loadPlatformConfig());

export const bucketNames = outputs.bucketNames;
export const servingEndpoints = outputs.servingEndpoints;
export const trainings = outputs.trainings;
export const gpuPools = outputs.gpuPools;
export const mobileExports = outputs.mobileExports;
export const releases = outputs.releases;
export const teams = outputs.teams;
export const smokeTargets = outputs.smokeTargets;
export const tensorboards = outputs.tensorboards;
