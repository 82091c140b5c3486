/* `imgpipe batch`: a folder of images, with file I/O and codec work overlapped.
 *
 * Concurrency paying off even on one core: while one image is in the pipeline,
 * reader threads decode the next ones and writer threads encode the finished ones;
 * bounded queues between the three keep memory in check (at most a few images in
 * flight). The backend state belongs to the single pipeline thread, as the backend
 * contract requires; a threaded backend parallelises inside each image.
 *
 * The same folder is also processed by a plain sequential loop in the same run, so
 * the gain is measured, not claimed. A file that fails is reported by name and
 * skipped; the exit status is 1 when any failed. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "image_io.h"

typedef struct job {
    char in_path[4096];
    char out_path[4096];
    img_image src, dst;
    bool failed;
    img_error err;
} job;

/* A bounded FIFO of job pointers; close() wakes every waiter once input ends. */
typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    job **items;
    int capacity, head, count;
    int producers;           /* pop returns NULL once this is 0 and the queue is empty */
} queue;

static int queue_init(queue *q, int capacity, int producers)
{
    memset(q, 0, sizeof *q);
    q->items = calloc((size_t)capacity, sizeof *q->items);
    if (!q->items)
        return -1;
    q->capacity = capacity;
    q->producers = producers;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

static void queue_destroy(queue *q)
{
    if (!q->items)
        return;
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    q->items = NULL;
}

static void queue_push(queue *q, job *j)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == q->capacity)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->items[(q->head + q->count++) % q->capacity] = j;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static job *queue_pop(queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && q->producers > 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    job *j = NULL;
    if (q->count > 0) {
        j = q->items[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return j;
}

/* One producer is done; the last one lets consumers drain and stop. */
static void queue_producer_done(queue *q)
{
    pthread_mutex_lock(&q->lock);
    if (--q->producers == 0)
        pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

typedef struct batch {
    const img_cli *cli;
    const img_backend *backend;
    void *state;
    job *jobs;
    int job_count;

    pthread_mutex_t lock;    /* guards next_job and the counters below */
    int next_job;
    int failed;
    bool quiet;              /* the sequential baseline counts failures without repeating them */
    double megapixels;

    queue decoded;           /* readers -> pipeline */
    queue processed;         /* pipeline -> writers */
} batch;

static void report_failure(batch *b, job *j)
{
    pthread_mutex_lock(&b->lock);
    b->failed++;
    if (!b->quiet)
        fprintf(stderr, "imgpipe: batch: %s\n", j->err.message);
    pthread_mutex_unlock(&b->lock);
    img_image_free(&j->src);
    img_image_free(&j->dst);
}

static int decode(batch *b, job *j)
{
    img_read_options ro = {.max_pixels = b->cli->max_pixels};
    return img_read_file(j->in_path, &j->src, &ro, &j->err);
}

/* Plans and runs the pipeline for one decoded image (pipeline thread only). */
static int process(batch *b, job *j)
{
    img_plan plan;
    int rc = img_plan_init(&plan, &b->cli->params, j->src.width, j->src.height,
                           b->cli->max_pixels, &j->err);
    if (rc == 0)
        rc = img_image_alloc(&j->dst, plan.out_width, plan.out_height, j->src.channels,
                             b->cli->max_pixels, &j->err);
    if (rc == 0)
        rc = b->backend->run_pipeline(b->state, &j->dst, &j->src, &plan, &j->err);
    if (rc != 0)
        img_fail(&j->err, "%s: %s", j->in_path, j->err.message);
    img_plan_free(&plan);
    img_image_free(&j->src);
    return rc;
}

static int encode(batch *b, job *j)
{
    img_write_options wo = {0};
    (void)b;
    int rc = img_write_file(j->out_path, &j->dst, &wo, &j->err);
    img_image_free(&j->dst);
    return rc;
}

static void *reader_main(void *p)
{
    batch *b = p;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        int i = b->next_job < b->job_count ? b->next_job++ : -1;
        pthread_mutex_unlock(&b->lock);
        if (i < 0)
            break;
        job *j = &b->jobs[i];
        if (decode(b, j) != 0) {
            report_failure(b, j);
            continue;
        }
        pthread_mutex_lock(&b->lock);
        b->megapixels += (double)j->src.width * j->src.height / 1e6;
        pthread_mutex_unlock(&b->lock);
        queue_push(&b->decoded, j);
    }
    queue_producer_done(&b->decoded);
    return NULL;
}

static void *pipeline_main(void *p)
{
    batch *b = p;
    job *j;
    while ((j = queue_pop(&b->decoded)) != NULL) {
        if (process(b, j) != 0)
            report_failure(b, j);
        else
            queue_push(&b->processed, j);
    }
    queue_producer_done(&b->processed);
    return NULL;
}

static void *writer_main(void *p)
{
    batch *b = p;
    job *j;
    while ((j = queue_pop(&b->processed)) != NULL)
        if (encode(b, j) != 0)
            report_failure(b, j);
    return NULL;
}

/* The overlapped run: `jobs` readers and `jobs` writers around the pipeline, which
 * runs on the calling thread (the one that owns the backend state). */
static int run_overlapped(batch *b, int jobs)
{
    pthread_t writers[256], readers[256];
    int writers_started = 0, readers_started = 0;
    b->next_job = 0;
    if (queue_init(&b->decoded, jobs, jobs) != 0 || queue_init(&b->processed, jobs, 1) != 0) {
        queue_destroy(&b->decoded);
        fprintf(stderr, "imgpipe: batch: out of memory for the queues\n");
        return -1;
    }
    /* Writers first: without one the pipeline would block on a full queue. */
    for (int i = 0; i < jobs; i++)
        if (pthread_create(&writers[writers_started], NULL, writer_main, b) == 0)
            writers_started++;
    if (writers_started == 0) {
        queue_destroy(&b->decoded);
        queue_destroy(&b->processed);
        fprintf(stderr, "imgpipe: batch: cannot start writer threads\n");
        return -1;
    }
    /* A reader that cannot start simply never produces; fewer readers still finish. */
    for (int i = 0; i < jobs; i++) {
        if (pthread_create(&readers[readers_started], NULL, reader_main, b) == 0)
            readers_started++;
        else
            queue_producer_done(&b->decoded);
    }
    int rc = 0;
    if (readers_started == 0) {
        fprintf(stderr, "imgpipe: batch: cannot start reader threads\n");
        queue_producer_done(&b->processed);   /* lets the writers finish */
        rc = -1;
    } else {
        pipeline_main(b);
    }
    for (int i = 0; i < readers_started; i++)
        pthread_join(readers[i], NULL);
    for (int i = 0; i < writers_started; i++)
        pthread_join(writers[i], NULL);
    queue_destroy(&b->decoded);
    queue_destroy(&b->processed);
    return rc;
}

static void run_sequential(batch *b)
{
    for (int i = 0; i < b->job_count; i++) {
        job *j = &b->jobs[i];
        if (decode(b, j) != 0) {
            report_failure(b, j);
            continue;
        }
        b->megapixels += (double)j->src.width * j->src.height / 1e6;
        if (process(b, j) != 0 || encode(b, j) != 0)
            report_failure(b, j);
    }
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const job *)a)->in_path, ((const job *)b)->in_path);
}

/* Every regular, non-hidden file of the input folder, sorted by name. */
static int list_jobs(const img_cli *cli, job **out, int *count, img_error *err)
{
    DIR *dir = opendir(cli->input_dir);
    if (!dir)
        return img_fail(err, "%s: cannot open folder: %s", cli->input_dir, strerror(errno));
    int cap = 0, n = 0;
    job *jobs = NULL;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", cli->input_dir, e->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            int grown = cap ? cap * 2 : 64;
            job *more = realloc(jobs, sizeof *jobs * (size_t)grown);
            if (!more) {
                rc = img_fail(err, "out of memory listing %s", cli->input_dir);
                break;
            }
            jobs = more;
            cap = grown;
        }
        job *j = &jobs[n++];
        memset(j, 0, sizeof *j);
        snprintf(j->in_path, sizeof j->in_path, "%s", path);
        /* The output keeps the input's name; a format the writer lacks becomes PNG. */
        const char *name = e->d_name;
        if (img_format_from_path(name) == IMG_FORMAT_UNKNOWN)
            snprintf(j->out_path, sizeof j->out_path, "%s/%s.png", cli->output_dir, name);
        else
            snprintf(j->out_path, sizeof j->out_path, "%s/%s", cli->output_dir, name);
    }
    closedir(dir);
    if (rc != 0) {
        free(jobs);
        return -1;
    }
    if (n > 1)
        qsort(jobs, (size_t)n, sizeof *jobs, compare_names);
    *out = jobs;
    *count = n;
    return 0;
}

int img_cmd_batch(const img_cli *cli)
{
    img_error err = {{0}};
    batch b = {.cli = cli};
    int status = IMG_EXIT_FAILURE;
    bool live = false;
    struct stat st;
    pthread_mutex_init(&b.lock, NULL);

    if (img_backend_lookup(cli->backend ? cli->backend : "serial", &b.backend, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        status = IMG_EXIT_USAGE;
        goto out;
    }
    if (stat(cli->output_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "imgpipe: %s: output folder does not exist\n", cli->output_dir);
        goto out;
    }
    if (list_jobs(cli, &b.jobs, &b.job_count, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        goto out;
    }
    if (b.job_count == 0) {
        fprintf(stderr, "imgpipe: %s: no files to process\n", cli->input_dir);
        goto out;
    }
    img_backend_options options = img_backend_options_from_cli(cli);
    if (b.backend->init(&b.state, &options, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        goto out;
    }
    live = true;
    int jobs = cli->jobs ? cli->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;

    /* Read every file once first so both runs start with the same page cache. */
    for (int i = 0; i < b.job_count; i++) {
        FILE *f = fopen(b.jobs[i].in_path, "rb");
        char buf[65536];
        while (f && fread(buf, 1, sizeof buf, f) == sizeof buf) {
        }
        if (f)
            fclose(f);
    }

    double t0 = img_now();
    b.quiet = true;
    run_sequential(&b);
    b.quiet = false;
    double sequential_s = img_now() - t0;
    int sequential_failed = b.failed;
    double megapixels = b.megapixels;

    b.failed = 0;
    b.megapixels = 0;
    t0 = img_now();
    if (run_overlapped(&b, jobs) != 0)
        goto out;
    double overlapped_s = img_now() - t0;
    int ok = b.job_count - b.failed;

    printf("batch: %d files, %d processed, %d failed; backend %s\n", b.job_count, ok, b.failed,
           b.backend->name);
    printf("  sequential loop:          %7.3f s  %7.2f images/s  %8.2f MP/s\n", sequential_s,
           (b.job_count - sequential_failed) / sequential_s, megapixels / sequential_s);
    printf("  overlapped (%d readers, %d writers): %7.3f s  %7.2f images/s  %8.2f "
           "MP/s  (%.2fx)\n",
           jobs, jobs, overlapped_s, ok / overlapped_s, b.megapixels / overlapped_s,
           sequential_s / overlapped_s);
    status = b.failed ? IMG_EXIT_FAILURE : IMG_EXIT_OK;
out:
    if (live)
        b.backend->destroy(b.state);
    free(b.jobs);
    pthread_mutex_destroy(&b.lock);
    return status;
}
