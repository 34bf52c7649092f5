/*
 * sample-hello: prints where it and its dependency are installed, then checks that every
 * path it knows still holds: its own executable, the library it was linked against, its
 * config file and its dependency's data file. Ends with "RESULT OK" (exit 0) or
 * "RESULT FAILED" (exit 1).
 *
 * Build with -DHELLO_PREFIX="<own prefix>" -DGREET_PREFIX="<libgreet prefix>" -DHELLO_VERSION="1.0".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greet.h"

#if !defined(HELLO_PREFIX) || !defined(GREET_PREFIX) || !defined(HELLO_VERSION)
#error "define HELLO_PREFIX, GREET_PREFIX and HELLO_VERSION"
#endif

/* NUL-terminated arrays: a binary relocator rewrites them in place. */
static const char own_prefix_raw[] = HELLO_PREFIX;
static const char dep_prefix_raw[] = GREET_PREFIX;

static int failures;

/* A shorter relocated path is padded with leading '/' ("////new/root/..."): squeeze the runs. */
static void squeeze_slashes(const char *in, char *out, size_t size) {
    size_t n = 0;
    for (; *in && n + 1 < size; in++) {
        if (*in == '/' && n > 0 && out[n - 1] == '/') continue;
        out[n++] = *in;
    }
    out[n] = '\0';
}

static void check(const char *name, int ok, const char *detail) {
    if (ok) {
        printf("check %s: ok\n", name);
    } else {
        printf("check %s: FAILED (%s)\n", name, detail);
        failures++;
    }
}

/* Whether two paths name the same file once symlinks are resolved. */
static int same_file(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb)) return 0;
    return strcmp(ra, rb) == 0;
}

/*
 * Checks that the lines `want1` and `want2` are among the lines of the text file `path`, and
 * reports the result as check `name`. With `show`, prints each line as "<name>| <line>".
 */
static void check_file(const char *name, const char *path, const char *want1, const char *want2,
                       int show) {
    FILE *f = fopen(path, "r");
    if (!f) {
        check(name, 0, path);
        return;
    }
    char line[2 * PATH_MAX];
    int seen1 = 0, seen2 = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (show) printf("%s| %s\n", name, line);
        seen1 |= strcmp(line, want1) == 0;
        seen2 |= strcmp(line, want2) == 0;
    }
    fclose(f);
    check(name, seen1 && seen2, seen1 ? want2 : want1);
}

int main(void) {
    char own[PATH_MAX], dep[PATH_MAX], path[PATH_MAX], other[PATH_MAX];
    char want1[2 * PATH_MAX], want2[2 * PATH_MAX], lib_prefix[PATH_MAX];

    squeeze_slashes(own_prefix_raw, own, sizeof own);
    squeeze_slashes(dep_prefix_raw, dep, sizeof dep);
    squeeze_slashes(greet_prefix(), lib_prefix, sizeof lib_prefix);

    printf("sample-hello %s\n", HELLO_VERSION);
    printf("prefix=%s\n", own);
    printf("dep_prefix=%s\n", dep);
    printf("greeting=%s (libgreet %s)\n", greet_message(), greet_version());

    /* 1. This executable runs from the prefix compiled into it. */
    snprintf(path, sizeof path, "%s/bin/hello", own);
    check("exe-in-prefix", same_file("/proc/self/exe", path), path);

    /* 2. libgreet was loaded from the dependency's prefix, found through RUNPATH. */
    Dl_info info;
    snprintf(path, sizeof path, "%s/lib", dep);
    int loaded = dladdr((void *)greet_message, &info) != 0 && info.dli_fname != NULL;
    if (loaded) {
        char lib_dir[PATH_MAX];
        if (realpath(info.dli_fname, lib_dir)) {
            *strrchr(lib_dir, '/') = '\0';
            loaded = same_file(lib_dir, path);
        } else {
            loaded = 0;
        }
    }
    check("libgreet-from-dep-prefix", loaded, loaded ? "" : path);

    /* 3. The library's own idea of its prefix matches ours. */
    check("libgreet-prefix-matches", strcmp(lib_prefix, dep) == 0, lib_prefix);

    /* 4. Our config names both prefixes (text relocation). */
    snprintf(path, sizeof path, "%s/share/sample-hello/config.txt", own);
    snprintf(want1, sizeof want1, "prefix=%s", own);
    snprintf(want2, sizeof want2, "dep_prefix=%s", dep);
    check_file("config", path, want1, want2, 1);

    /* 5. Our symlink reaches the dependency's data file, which names the dependency's prefix. */
    snprintf(path, sizeof path, "%s/share/sample-hello/dep-data.txt", own);
    snprintf(other, sizeof other, "%s/share/sample-libgreet/data.txt", dep);
    check("dep-data-link", same_file(path, other), path);
    snprintf(want2, sizeof want2, "installed-at %s", dep);
    check_file("dep-data", path, "sample-libgreet 1.0 data file", want2, 1);

    /* 6. The dependency's pkg-config file names its prefix. */
    snprintf(path, sizeof path, "%s/lib/pkgconfig/sample-libgreet.pc", dep);
    snprintf(want1, sizeof want1, "prefix=%s", dep);
    check_file("dep-pkgconfig", path, want1, "Name: sample-libgreet", 0);

    puts(failures ? "RESULT FAILED" : "RESULT OK");
    return failures ? 1 : 0;
}
