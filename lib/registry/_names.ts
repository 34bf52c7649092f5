// Grammar of repository names and tags (OCI distribution spec, "Pulling manifests").

// A path component: alphanumerics joined by one `.`, one or two `_`, or any number of `-`.
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_{1,2}|-+)[a-z0-9]+)*";

/** One repository path component; case-insensitive because references are lower-cased later. */
export const PATH_COMPONENT_ANY_CASE_RE: RegExp = new RegExp(`^${COMPONENT}$`, "i");

/** A full, lower-case repository name (`a/b/c`). */
export const REPOSITORY_RE: RegExp = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** A tag: a word character then up to 127 word characters, dots or dashes. */
export const TAG_RE: RegExp = /^[\w][\w.-]{0,127}$/;
