/* sample-libgreet: a tiny shared library whose only state is where it was installed. */
#ifndef SAMPLE_GREET_H
#define SAMPLE_GREET_H

/* The install prefix compiled into the library (may carry leading '/' padding after relocation). */
const char *greet_prefix(void);

/* A greeting that shows the library was found and called. */
const char *greet_message(void);

/* The package version, e.g. "1.0". */
const char *greet_version(void);

#endif
