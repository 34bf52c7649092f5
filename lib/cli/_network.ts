// Mirror options every command shares: warnings and request retries shown as progress lines.

import type { OpenMirrorOptions } from "../mirror/open.ts";
import type { ProgressRenderer } from "./progress.ts";

/** Options for `openConfiguredMirror` that report warnings and retries through `render`. */
export function network(render: ProgressRenderer): OpenMirrorOptions {
  return {
    onWarning: warn(render),
    registry: { onRetry: render.onRetry },
    http: { onRetry: render.onRetry },
    s3: { onRetry: render.onRetry },
  };
}

/** A warning printer writing `warning: …` lines through `render`. */
export function warn(render: ProgressRenderer): (message: string) => void {
  return (message) => render.line(`warning: ${message}`);
}
