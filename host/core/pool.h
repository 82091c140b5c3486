/* A small persistent worker pool: create, run a batch of tasks, destroy.
 *
 * Threads are created once by img_pool_create and sleep between batches, so a timed
 * run never pays for thread creation. A batch is `count` calls of one task function
 * with the task index; workers claim indices in order, so the tasks of a batch
 * interleave on one core or spread over several exactly as the scheduler decides.
 * The caller blocks until the whole batch is done. One batch at a time per pool. */
#ifndef IMG_CORE_POOL_H
#define IMG_CORE_POOL_H

#include "error.h"

typedef struct img_pool img_pool;

/* One task: `index` in [0, count), `worker` in [0, threads) names the thread. */
typedef void (*img_task_fn)(void *arg, int index, int worker);

/* Starts `threads` workers (1..IMG_POOL_MAX_THREADS). */
#define IMG_POOL_MAX_THREADS 1024
int img_pool_create(img_pool **pool, int threads, img_error *err);

/* Runs fn(arg, i, worker) for every i in [0, count) and returns when all finished. */
void img_pool_run(img_pool *pool, img_task_fn fn, void *arg, int count);

int img_pool_threads(const img_pool *pool);

/* Stops and joins the workers; NULL is fine. */
void img_pool_destroy(img_pool *pool);

#endif
