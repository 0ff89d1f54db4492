/* A persistent thread pool for per-operation fork/join at decode rates (a few microseconds).
 * Workers spin on a generation counter for a while after each task, then sleep on a condition
 * variable; the caller runs member 0 itself and spins until the others finish. */
#define _GNU_SOURCE
#include "CKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define CK_PAUSE() __asm__ __volatile__("yield")
#else
#define CK_PAUSE() ((void)0)
#endif

/* Spin with pause first (a wake costs well under a microsecond), then yield the CPU between
 * checks (more threads than free cores must not starve the member they wait for), then sleep. */
enum { SPINS_BEFORE_YIELD = 2000, YIELDS_BEFORE_SLEEP = 20000 };

struct ck_pool {
    int n;
    pthread_t *threads;
    ck_task_fn fn;
    void *ctx;
    _Atomic unsigned generation;
    _Atomic int pending;
    _Atomic int stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

typedef struct { ck_pool *pool; int index; } member;

static void *worker_main(void *arg) {
    member *self = (member *)arg;
    ck_pool *pool = self->pool;
    const int index = self->index;
    free(self);
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen) {
            ++spins;
            if (spins < SPINS_BEFORE_YIELD) { CK_PAUSE(); continue; }
            if (spins < SPINS_BEFORE_YIELD + YIELDS_BEFORE_SLEEP) { sched_yield(); continue; }
            pthread_mutex_lock(&pool->lock);
            while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen)
                pthread_cond_wait(&pool->wake, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
        pool->fn(pool->ctx, index, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
}

ck_pool *ck_pool_create(int nthreads) {
    if (nthreads < 1) nthreads = 1;
    ck_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n = nthreads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = calloc((size_t)nthreads, sizeof(pthread_t));
    for (int i = 1; i < nthreads; i++) {
        member *m = malloc(sizeof *m);
        m->pool = pool;
        m->index = i;
        if (pthread_create(&pool->threads[i], NULL, worker_main, m) != 0) {
            free(m);
            pool->n = i; /* run with the members that started */
            break;
        }
    }
    return pool;
}

int ck_pool_size(const ck_pool *pool) { return pool->n; }

static void wake_all(ck_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

void ck_pool_run(ck_pool *pool, ck_task_fn fn, void *ctx) {
    if (pool->n == 1) { fn(ctx, 0, 1); return; }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->n - 1, memory_order_release);
    wake_all(pool);
    fn(ctx, 0, pool->n);
    for (int spins = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) != 0; spins++) {
        if (spins < SPINS_BEFORE_YIELD) CK_PAUSE();
        else sched_yield();
    }
}

void ck_pool_destroy(ck_pool *pool) {
    if (!pool) return;
    atomic_store_explicit(&pool->stop, 1, memory_order_release);
    wake_all(pool);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->threads);
    free(pool);
}
