/**
 * The `spackle` command: `deno run -A cli.ts <command> …` (or `deno task spackle …`).
 *
 * @module
 */
import { main, reportUncaught } from "./lib/cli/main.ts";

if (import.meta.main) {
  reportUncaught();
  Deno.exit(await main(Deno.args));
}
