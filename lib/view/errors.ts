/**
 * Errors of filesystem views: two packages that would put different things at one path, and a
 * view directory that cannot be (re)made.
 *
 * @module
 */
import { SpackleError } from "../errors.ts";

/** One side of a {@link ViewConflictError}: the package and the file or directory it brings. */
export interface ViewConflictSide {
  /** The package, as `name@version/hash7`. */
  readonly spec: string;
  /** Absolute source path in its prefix (or `<projection>` for a projection directory). */
  readonly source: string;
}

/**
 * Two packages need the same path in a view and Spack would refuse: a file where another package
 * has a directory (or the reverse), two different files of the package metadata, or two specs of
 * one package projected to the same place. `path` is relative to the view root.
 */
export class ViewConflictError extends SpackleError {
  /** Creates the error for `path` (relative to the view `root`) claimed by `a` and `b`. */
  constructor(
    readonly root: string,
    readonly path: string,
    readonly a: ViewConflictSide,
    readonly b: ViewConflictSide,
    reason = "conflicting files",
  ) {
    super(
      "VIEW_CONFLICT",
      `cannot create view ${root}: ${reason} at ${path}: ${a.spec} (${a.source}) and ` +
        `${b.spec} (${b.source})`,
    );
  }
}

/**
 * A view could not be created or replaced: its root is a non-empty directory rather than the
 * view's symlink, or the directory the new view goes to already holds something.
 */
export class ViewError extends SpackleError {
  /** Creates the error for the view at `root`. */
  constructor(readonly root: string, detail: string, options?: ErrorOptions) {
    super("VIEW", `cannot create view ${root}: ${detail}`, options);
  }
}
