#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct img_pool {
    pthread_mutex_t lock;
    pthread_cond_t work_ready;   /* a batch was posted, or shutdown */
    pthread_cond_t batch_done;   /* the last task of the batch finished */
    pthread_t *workers;
    int threads;
    int started;                 /* workers successfully created */

    /* The current batch, all guarded by lock. */
    img_task_fn fn;
    void *arg;
    int count;
    int next;                    /* next index to hand out */
    int finished;                /* tasks completed */
    int shutdown;
};

typedef struct worker_start {
    img_pool *pool;
    int index;
} worker_start;

static void *worker_main(void *p)
{
    img_pool *pool = ((worker_start *)p)->pool;
    int me = ((worker_start *)p)->index;
    free(p);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->shutdown && pool->next >= pool->count)
            pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->shutdown)
            break;
        int i = pool->next++;
        img_task_fn fn = pool->fn;
        void *arg = pool->arg;
        /* The task runs unlocked: that is where the concurrency is. */
        pthread_mutex_unlock(&pool->lock);
        fn(arg, i, me);
        pthread_mutex_lock(&pool->lock);
        if (++pool->finished == pool->count)
            pthread_cond_signal(&pool->batch_done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

int img_pool_create(img_pool **out, int threads, img_error *err)
{
    *out = NULL;
    if (threads < 1 || threads > IMG_POOL_MAX_THREADS)
        return img_fail(err, "thread count %d is out of range [1, %d]", threads,
                        IMG_POOL_MAX_THREADS);
    img_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return img_fail(err, "out of memory creating a thread pool");
    pool->workers = calloc((size_t)threads, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return img_fail(err, "out of memory creating a thread pool");
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->batch_done, NULL);
    pool->threads = threads;
    for (int t = 0; t < threads; t++) {
        worker_start *start = malloc(sizeof *start);
        int rc = start ? 0 : -1;
        if (start) {
            *start = (worker_start){pool, t};
            rc = pthread_create(&pool->workers[t], NULL, worker_main, start);
            if (rc != 0)
                free(start);
        }
        if (rc != 0) {
            img_pool_destroy(pool);
            return img_fail(err, "cannot start worker thread %d of %d: %s", t + 1, threads,
                            rc > 0 ? strerror(rc) : "out of memory");
        }
        pool->started++;
    }
    *out = pool;
    return 0;
}

void img_pool_run(img_pool *pool, img_task_fn fn, void *arg, int count)
{
    if (count <= 0)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->finished = 0;
    pool->next = 0;
    pool->count = count;
    pthread_cond_broadcast(&pool->work_ready);
    while (pool->finished < pool->count)
        pthread_cond_wait(&pool->batch_done, &pool->lock);
    /* Leave the batch empty so no worker picks up a stale index. */
    pool->count = 0;
    pool->next = 0;
    pthread_mutex_unlock(&pool->lock);
}

int img_pool_threads(const img_pool *pool)
{
    return pool->threads;
}

void img_pool_destroy(img_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->shutdown = 1;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int t = 0; t < pool->started; t++)
        pthread_join(pool->workers[t], NULL);
    pthread_cond_destroy(&pool->batch_done);
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}
