/* LD_PRELOAD shim: which allocations does SQLite hold while Ferry runs?
 *
 * It routes SQLite's allocator (sqlite3_config(SQLITE_CONFIG_MALLOC)) through counters of the
 * live allocations per size, and every FERRY_ALLOC_INTERVAL seconds (default 2) prints one line
 * to stderr with every size that has more than 20 live allocations:
 *   live-allocations t=SECONDS bytes=LIVE peak=HIGHEST size:COUNT ...
 * and one last line at exit: live-allocations peak=HIGHEST (bytes SQLite held at most at once).
 * SQLite is configured before the Ferry plugin opens it, so this has to be preloaded; it is a
 * measuring tool for bench/experiments/sqlite-memory.sh, never part of Ferry.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    void* (*xMalloc)(int);
    void (*xFree)(void*);
    void* (*xRealloc)(void*, int);
    int (*xSize)(void*);
    int (*xRoundup)(int);
    int (*xInit)(void*);
    void (*xShutdown)(void*);
    void* pAppData;
} sqlite_mem_methods;

enum { config_malloc = 4, config_getmalloc = 5, largest_size = 1 << 16 };

static sqlite_mem_methods inner, counted;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long live[largest_size + 1];
static long long live_bytes, peak_bytes;

static void count(void* p, int delta) {
    if (!p) return;
    int size = inner.xSize(p);
    pthread_mutex_lock(&lock);
    live[size < largest_size ? size : largest_size] += delta;
    live_bytes += (long long)delta * size;
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
    pthread_mutex_unlock(&lock);
}
static void* counted_malloc(int n) {
    void* p = inner.xMalloc(n);
    count(p, 1);
    return p;
}
static void counted_free(void* p) {
    count(p, -1);
    inner.xFree(p);
}
static void* counted_realloc(void* p, int n) {
    if (!p) return counted_malloc(n);
    int old = inner.xSize(p);
    void* q = inner.xRealloc(p, n);
    if (q) {
        pthread_mutex_lock(&lock);
        live[old < largest_size ? old : largest_size] -= 1;
        live_bytes -= old;
        pthread_mutex_unlock(&lock);
        count(q, 1);
    }
    return q;
}

static void* report(void* unused) {
    (void)unused;
    const char* env = getenv("FERRY_ALLOC_INTERVAL");
    const unsigned interval = env ? (unsigned)atoi(env) : 2;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        sleep(interval);
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&lock);
        fprintf(stderr, "live-allocations t=%ld bytes=%lld peak=%lld", (long)(now.tv_sec - start.tv_sec), live_bytes,
                peak_bytes);
        for (int size = 0; size <= largest_size; ++size)
            if (live[size] > 20) fprintf(stderr, " %d:%ld", size, live[size]);
        fputc('\n', stderr);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

__attribute__((constructor)) static void install(void) {
    void* sqlite = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_GLOBAL);
    int (*config)(int, ...) = sqlite ? (int (*)(int, ...))dlsym(sqlite, "sqlite3_config") : NULL;
    if (!config || config(config_getmalloc, &inner) != 0) {
        fprintf(stderr, "sqlite_live_allocations: cannot reach SQLite's allocator\n");
        return;
    }
    counted = inner;
    counted.xMalloc = counted_malloc;
    counted.xFree = counted_free;
    counted.xRealloc = counted_realloc;
    if (config(config_malloc, &counted) != 0) {
        fprintf(stderr, "sqlite_live_allocations: SQLite refused the counting allocator\n");
        return;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, report, NULL);
    pthread_detach(thread);
}

__attribute__((destructor)) static void report_peak(void) {
    fprintf(stderr, "live-allocations peak=%lld\n", peak_bytes);
}
