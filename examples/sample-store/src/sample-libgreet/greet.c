/* sample-libgreet: build with -DGREET_PREFIX="<prefix>" -DGREET_VERSION="<version>". */
#include "greet.h"

#if !defined(GREET_PREFIX) || !defined(GREET_VERSION)
#error "define GREET_PREFIX and GREET_VERSION"
#endif

/* Kept as a NUL-terminated array so binary relocation can rewrite it in place. */
static const char installed_at[] = GREET_PREFIX;

const char *greet_prefix(void) { return installed_at; }

const char *greet_message(void) { return "Hello from sample-libgreet"; }

const char *greet_version(void) { return GREET_VERSION; }
