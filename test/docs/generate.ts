// `npm run typecheck`'s pretypecheck step: writes the docs' TypeScript examples where tsconfig.json compiles them.
import { allExamples, GENERATED_DIR, writeExamples } from "./examples";

writeExamples(GENERATED_DIR, allExamples());
