/**
 * The `spackle` command: `deno run -A cli.ts <command> …` (or `deno task spackle …`).
 *
 * @module
 */
import { main } from "./lib/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
