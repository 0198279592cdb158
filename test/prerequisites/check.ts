// `npm test`'s pretest step: exits 1, naming every missing tool with how to install it, before any test runs.
import { missingTestPrerequisites, prerequisitesReport } from "./prerequisites";

const problems = missingTestPrerequisites();
if (problems.length > 0) {
  process.stderr.write(prerequisitesReport(problems));
  process.exitCode = 1;
}
