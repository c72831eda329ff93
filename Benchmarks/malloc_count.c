// Counts heap allocations (malloc, calloc, realloc, posix_memalign) in a process and prints the total at exit.
// Built and preloaded by allocations.py; it replaces valgrind for this count because valgrind cannot run the
// AVX-512 code of a release build.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long allocations;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void (*real_free)(void *);

// dlsym itself may call calloc before the real one is known: serve that from a static block, never freed.
static char early[1 << 16];
static size_t early_used;

void *malloc(size_t n) {
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add(&allocations, 1);
    return real_malloc(n);
}

void *calloc(size_t count, size_t size) {
    if (!real_calloc) {
        size_t n = (count * size + 15) & ~(size_t)15;
        if (early_used + n > sizeof early) return NULL;
        void *p = early + early_used;
        early_used += n;
        real_calloc = dlsym(RTLD_NEXT, "calloc");
        return p;
    }
    atomic_fetch_add(&allocations, 1);
    return real_calloc(count, size);
}

void *realloc(void *p, size_t n) {
    if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add(&allocations, 1);
    return real_realloc(p, n);
}

int posix_memalign(void **p, size_t alignment, size_t n) {
    if (!real_posix_memalign) real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    atomic_fetch_add(&allocations, 1);
    return real_posix_memalign(p, alignment, n);
}

void free(void *p) {
    if ((char *)p >= early && (char *)p < early + sizeof early) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

__attribute__((destructor)) static void report(void) {
    char line[64];
    int n = snprintf(line, sizeof line, "allocations: %ld\n", atomic_load(&allocations));
    if (n > 0) write(2, line, (size_t)n);
}
