/**
 * Text of the `sbang` launcher installed at `<unpadded root>/bin/sbang`. Spackle's own POSIX sh
 * program with the behaviour of Spack's `bin/sbang` (Spack relocation reference §1.9).
 *
 * @module
 */

/** The launcher script; installed with mode 0755. */
export const SBANG_SCRIPT = `#!/bin/sh
# sbang: run a script whose interpreter line is too long for the kernel.
#
# Installed by Spackle; it behaves like Spack's bin/sbang. A script patched for sbang starts with
#
#     #!/bin/sh /path/to/sbang
#     #!/long/path/to/interpreter [arguments]
#
# so the kernel runs "/bin/sh /path/to/sbang SCRIPT [ARGS...]". sbang reads the real interpreter
# line from the script (line 2, or line 1 when run by hand on an ordinary script) and execs
# "interpreter [arguments] SCRIPT [ARGS...]". Languages in which "#" starts no comment keep that
# line as "--!..." (lua), "//!..." (node) or "<?php #!... ?>" (php).

die() {
  printf 'sbang: %s\\n' "$*" >&2
  exit 1
}

[ $# -ge 1 ] && [ -n "$1" ] || die "usage: sbang SCRIPT [ARGUMENT...]"
[ -f "$1" ] || die "$1: no such file"

# Of the first two lines, the last one that holds an interpreter line wins.
found=
n=0
while [ "$n" -lt 2 ] && { IFS= read -r line || [ -n "$line" ]; }; do
  n=$((n + 1))
  case $line in
    '#!'*) found=\${line#??} ;;
    '--!'* | '//!'*) found=\${line#???} ;;
    '<?php #!'*)
      found=\${line#'<?php #!'}
      found=\${found%' ?>'}
      ;;
  esac
done <"$1"

# The interpreter line is split into words, but a word is never expanded as a glob.
set -f
words() {
  interpreter=\${1-}
  arg1=\${2-}
}
# shellcheck disable=SC2086
words $found
[ -n "$interpreter" ] || die "no interpreter found in $1"

# True if the interpreter is program $1, directly or as "/usr/bin/env $1".
runs() {
  [ "\${interpreter##*/}" = "$1" ] || { [ "$interpreter" = /usr/bin/env ] && [ "$arg1" = "$1" ]; }
}

# A script whose line 2 holds no interpreter would otherwise make sbang run itself forever.
if runs sbang || [ "\${arg1##*/}" = sbang ]; then
  die "refusing to run sbang on itself for $1"
fi

# perl and ruby obey a foreign first line ("#!/bin/sh .../sbang") by running it; -x makes them
# skip ahead to the line that names them.
if runs perl || runs ruby; then
  # shellcheck disable=SC2086
  exec $found -x "$@"
fi
# shellcheck disable=SC2086
exec $found "$@"
`;
