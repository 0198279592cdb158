/**
 * The ml-platform Pulumi program. `pulumi up --stack <env>` runs it with `stacks/Pulumi.<env>.yaml`.
 * Config is validated as a whole before any resource is declared.
 */
import { loadPlatformConfig } from "./config";
import { definePlatform } from "./platform";

const platform = definePlatform(loadPlatformConfig());

export const bucketNames = platform.outputs.bucketNames;
export const gpuPools = platform.outputs.gpuPools;
