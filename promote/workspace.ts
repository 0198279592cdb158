/**
 * The little the promotion needs of Pulumi, per stack: its outputs, its config at the promotion path
 * (read and set), preview and up. automation-workspace.ts implements it with the Automation API over
 * this repository's project; the tests implement it with a fake.
 */

/** Receives an operation's output as it streams (Pulumi's own text). */
export type OutputSink = (text: string) => void;

/** Resource operation counts, e.g. { same: 20, update: 2 }. */
export type ChangeSummary = Record<string, number>;

export interface PreviewSummary {
  changeSummary: ChangeSummary;
}

export interface UpSummary {
  /** The stack's outputs after the update (plain values). */
  outputs: Record<string, unknown>;
  changeSummary: ChangeSummary;
}

export interface StackWorkspace {
  /** The stack's outputs from its last update, as plain values ({} when it was never deployed). */
  outputs(stack: string): Promise<Record<string, unknown>>;
  /** The value at `ml-platform:releases` in the stack's config, or undefined when the key is absent. */
  readReleases(stack: string): Promise<unknown>;
  /** Sets `ml-platform:releases` to exactly `value`; undefined removes the key. */
  writeReleases(stack: string, value: unknown): Promise<void>;
  /** Previews an update with the stack's current config, streaming the diff to `output`. */
  preview(stack: string, output: OutputSink): Promise<PreviewSummary>;
  /** Updates the stack with its current config, streaming progress to `output`. */
  up(stack: string, output: OutputSink): Promise<UpSummary>;
}
