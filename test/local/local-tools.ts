/**
 * A sandbox for the local-stack commands: fake `pulumi` and `kubectl` (test/local/fixtures/) first on a
 * PATH that holds only the few POSIX tools the fakes use (so a missing tool really is missing: this
 * machine has a real kubectl in /usr/bin), a temporary state folder, and captured output.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { PROJECT_DIR, type LocalContext } from "../../local/context";
import { main } from "../../local/main";

const FIXTURES = join(__dirname, "fixtures");
const POSIX_TOOLS = ["sh", "cat", "mkdir", "rm", "touch", "sleep"];

function which(tool: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin", "/bin"])) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  throw new Error(`${tool} not found`);
}

export interface Sandbox {
  dir: string;
  stateDir: string;
  /** Environment of the commands; set FAKE_* knobs here. */
  env: NodeJS.ProcessEnv;
  /** Runs `main(argv)` and returns the exit code with what it printed. */
  run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The fakes' calls, one line each (`pulumi ...`, `kubectl ...`), without the env lines. */
  calls(): string[];
  /** The backend and passphrase each pulumi call got. */
  pulumiEnvs(): string[];
  /** Which fake tools exist. */
  tools(names: Array<"pulumi" | "kubectl">): void;
  /** Lets the commands also find the real PATH (npm, node) after the fakes. */
  withRealPath(): void;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "local-stack-"));
  const fakes = join(dir, "fakes");
  const posix = join(dir, "posix");
  mkdirSync(fakes);
  mkdirSync(posix);
  for (const tool of POSIX_TOOLS) symlinkSync(which(tool), join(posix, tool));
  const log = join(dir, "calls.log");
  const env: NodeJS.ProcessEnv = {
    PATH: [fakes, posix].join(delimiter),
    HOME: dir,
    FAKE_LOG: log,
    FAKE_STATE: join(dir, "pulumi-state"),
    FAKE_KUBE_CONTEXT: "kind-ml",
  };
  const lines = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []);
  const box: Sandbox = {
    dir,
    stateDir: join(dir, "state", ".pulumi-local"),
    env,
    async run(argv) {
      let stdout = "";
      let stderr = "";
      const sink = (append: (s: string) => void) =>
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            append(chunk.toString());
            callback();
          },
        });
      const context: LocalContext = {
        projectDir: PROJECT_DIR,
        stateDir: box.stateDir,
        env,
        io: { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), inheritStdio: false },
      };
      const code = await main(argv, context);
      return { code, stdout, stderr };
    },
    calls: () => lines().filter((l) => !l.startsWith("env ")),
    pulumiEnvs: () => lines().filter((l) => l.startsWith("env ")),
    tools(names) {
      rmSync(fakes, { recursive: true, force: true });
      mkdirSync(fakes);
      for (const name of names) {
        copyFileSync(join(FIXTURES, `fake-${name}.sh`), join(fakes, name));
        chmodSync(join(fakes, name), 0o755);
      }
    },
    withRealPath() {
      // npm and the Node that runs vitest, then the rest of the real PATH (after the fakes, so they win).
      env.PATH = [fakes, posix, dirname(process.execPath), process.env.PATH].join(delimiter);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  box.tools(["pulumi", "kubectl"]);
  return box;
}
