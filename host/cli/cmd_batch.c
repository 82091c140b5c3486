/* `imgpipe batch`: a folder of images, with file I/O and codec work overlapped.
 *
 * Concurrency paying off even on one core: while one image is in the pipeline,
 * reader threads decode the next ones and writer threads encode the finished ones;
 * bounded queues between the three keep memory in check (at most a few images in
 * flight). The backend state belongs to the single pipeline thread, as the backend
 * contract requires; a threaded backend parallelises inside each image.
 *
 * A user's folder is read once and written once: each image of IN goes through that
 * overlapped run exactly one time and lands in OUT under its own name. Because the
 * outputs keep the inputs' names, everything that could make an output replace an
 * input (OUT being IN under another spelling, an output that is a link to an input)
 * is refused before any backend is probed and before anything is written.
 *
 * --compare is the measurement: the same files first go through a plain sequential
 * loop that writes into a scratch folder inside OUT (same file system, so its writes
 * cost what the real ones do), removed afterwards; then the real run, and both are
 * timed. A file that fails is reported by name once and skipped; the exit status is
 * 1 when any failed.
 *
 * Which stage limits the throughput is measured, not guessed: every decode, pipeline
 * run, encode and write is timed, and the overlapped run's sums are reported beside
 * its wall time. A stage's sum divided by the threads that run it (readers, the one
 * pipeline thread, writers) is how long those threads were busy with it; the largest
 * is the bottleneck.
 *
 * Started by mpirun (and built with IMGPIPE_MPI), the same machinery runs on every
 * rank: rank 0 checks and lists the folder, the ranks take their files from it one at
 * a time (batch_mpi.h), and rank 0 prints one report for all of them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "batch_mpi.h"
#include "registry.h"
#include "clock.h"
#include "cpus.h"
#include "image_io.h"

/* The thread arrays are fixed; --jobs is capped at this by the CLI, the core count
 * here (a 512-core machine must not overflow them). */
#define MAX_IO_THREADS 256

typedef struct job {
    char *name;              /* entry of the input folder; also the output's name */
    char *in_path;           /* IN/name */
    char *out_path;          /* OUT/name */
    bool have_id;            /* dev/ino known (stat succeeded while listing) */
    dev_t dev;
    ino_t ino;
    off_t size;              /* bytes, when have_id: under MPI the largest go first */
    img_image src, dst;
    double megapixels;       /* of the decoded input; counted once its output is written */
    bool failed;             /* in the real (overlapped) run */
    img_error err;           /* the pass in progress */
    bool compare_failed;     /* in --compare's sequential pass */
    img_error compare_err;   /* reported after the real run, only if that one succeeded */
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

/* Seconds spent in each stage, summed over files (and so over the threads that ran
 * them, which overlap: the sums can exceed the wall time). */
typedef struct stage_seconds {
    double decode, pipeline, encode, write;
} stage_seconds;

typedef struct batch {
    const img_cli *cli;
    const img_backend *backend;
    void *state;
    job *jobs;
    int job_count;
    int ignored;             /* entries of IN that are not images */

    pthread_mutex_t lock;    /* guards next_job and the counters below */
    int next_job;
    int failed;
    double megapixels;       /* of the images written by the run in progress */
    stage_seconds busy;      /* summed over the files of the run in progress */

    int encode_threads;      /* threads each PNG encode may use; 0 = --threads or all */

    queue decoded;           /* readers -> pipeline */
    queue processed;         /* pipeline -> writers */

    /* Under mpirun only (NULL / zero otherwise): where the next file comes from, what
     * this rank did, and its --trace spans. */
    img_batch_mpi *mpi;
    int threads;             /* readers (and writers) of the run in progress */
    int reader_tracks, writer_tracks;   /* started so far: each one's trace track */
    int written;             /* outputs this process wrote */
    double waiting_s;        /* readers asking rank 0 for work, summed */
    double zero;             /* img_now() at the ranks' common start */
    img_batch_span *spans;   /* --trace: this rank's timeline */
    int span_count, span_capacity;
    /* Under mpirun a rank holds at most this many files at once (0: no limit), so it
     * asks for the next file when it finishes one rather than hoarding files that an
     * idle rank could take. */
    int in_flight_limit, in_flight;
    pthread_cond_t room;     /* in_flight fell below the limit */
} batch;

/* The trace track of the calling reader, writer or pipeline thread (under --trace). */
static _Thread_local int trace_track;

/* DIR/NAME, without doubling a trailing slash the user typed ("photos/"). */
static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    const char *sep = len > 0 && dir[len - 1] == '/' ? "" : "/";
    size_t size = len + strlen(sep) + strlen(name) + 1;
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%.*s%s%s", (int)len, dir, sep, name);
    return path;
}

/* A file left this process (written or failed): room for the next (b->lock held). */
static void file_done_locked(batch *b)
{
    if (b->in_flight_limit) {
        b->in_flight--;
        pthread_cond_signal(&b->room);
    }
}

static void report_failure(batch *b, job *j)
{
    pthread_mutex_lock(&b->lock);
    file_done_locked(b);
    b->failed++;
    j->failed = true;
    fprintf(stderr, "imgpipe: batch: %s\n", j->err.message);
    pthread_mutex_unlock(&b->lock);
    img_image_free(&j->src);
    img_image_free(&j->dst);
}

/* A stage's time into its sum and, under --trace, onto the calling thread's track. */
static void add_stage(batch *b, double *stage, img_batch_stage which, const job *j, double t0,
                      double t1)
{
    pthread_mutex_lock(&b->lock);
    *stage += t1 - t0;
    if (b->spans && b->span_count < b->span_capacity)
        b->spans[b->span_count++] = (img_batch_span){
            .track = trace_track,
            .stage = which,
            .file = j ? (int32_t)(j - b->jobs) : -1,
            .start_ns = (int64_t)((t0 - b->zero) * 1e9),
            .end_ns = (int64_t)((t1 - b->zero) * 1e9),
        };
    pthread_mutex_unlock(&b->lock);
}

static int decode(batch *b, job *j)
{
    img_read_options ro = {.max_pixels = b->cli->max_pixels, .png_decoder = b->cli->png_decoder};
    double t0 = img_now();
    int rc = img_read_file(j->in_path, &j->src, &ro, &j->err);
    add_stage(b, &b->busy.decode, IMG_BATCH_DECODE, j, t0, img_now());
    if (rc != 0)
        return -1;
    j->megapixels = (double)j->src.width * j->src.height / 1e6;
    return 0;
}

/* Plans and runs the pipeline for one decoded image (pipeline thread only). */
static int process(batch *b, job *j)
{
    img_plan plan;
    img_error inner;
    int rc = img_plan_init(&plan, &b->cli->params, j->src.width, j->src.height,
                           b->cli->max_pixels, &inner);
    if (rc == 0)
        rc = img_image_alloc(&j->dst, plan.out_width, plan.out_height, j->src.channels,
                             b->cli->max_pixels, &inner);
    if (rc == 0) {
        double t0 = img_now();
        rc = b->backend->run_pipeline(b->state, &j->dst, &j->src, &plan, &inner);
        add_stage(b, &b->busy.pipeline, IMG_BATCH_PIPELINE, j, t0, img_now());
    }
    /* The inner message goes through a copy: img_fail must not read what it writes. */
    if (rc != 0)
        img_fail(&j->err, "%s: %s", j->in_path, inner.message);
    img_plan_free(&plan);
    img_image_free(&j->src);
    return rc;
}

/* img_write_file in its two halves, each timed: encoding into memory, then the
 * atomic write of the bytes. */
static int encode(batch *b, job *j, const char *path)
{
    img_write_options wo = img_write_options_from_cli(b->cli);
    if (b->encode_threads > 0)
        wo.threads = b->encode_threads;
    uint8_t *data = NULL;
    size_t size = 0;
    double t0 = img_now();
    int rc = img_write_memory(path, &j->dst, &wo, &data, &size, &j->err);
    double t1 = img_now();
    add_stage(b, &b->busy.encode, IMG_BATCH_ENCODE, j, t0, t1);
    img_image_free(&j->dst);
    if (rc == 0) {
        rc = img_write_encoded(path, data, size, &j->err);
        add_stage(b, &b->busy.write, IMG_BATCH_WRITE, j, t1, img_now());
    }
    free(data);
    return rc;
}

/* The next file for a reader: the next of the list, or under mpirun the one rank 0
 * hands out (largest first, to whichever rank asks first). */
static int next_job_index(batch *b)
{
#ifdef IMGPIPE_MPI
    if (b->mpi) {
        double t0 = img_now(), waited = 0;
        int i = img_batch_mpi_next_job(b->mpi, &waited);
        /* Rank 0 takes its own files from memory in a microsecond: only a real wait
         * (an answer from rank 0) counts, and is worth a span. */
        if (waited > 20e-6)
            add_stage(b, &b->waiting_s, IMG_BATCH_WAITING, NULL, t0, t0 + waited);
        return i;
    }
#endif
    pthread_mutex_lock(&b->lock);
    int i = b->next_job < b->job_count ? b->next_job++ : -1;
    pthread_mutex_unlock(&b->lock);
    return i;
}

/* Readers are tracks 0..threads-1, the pipeline thread is track `threads`, the writers
 * come after it. */
static void take_trace_track(batch *b, bool writer)
{
    pthread_mutex_lock(&b->lock);
    int n = writer ? b->threads + 1 + b->writer_tracks++ : b->reader_tracks++;
    pthread_mutex_unlock(&b->lock);
    trace_track = n;
}

/* Waits until this process may take one more file (under mpirun), and counts it. */
static void wait_for_room(batch *b)
{
    if (!b->in_flight_limit)
        return;
    pthread_mutex_lock(&b->lock);
    while (b->in_flight >= b->in_flight_limit)
        pthread_cond_wait(&b->room, &b->lock);
    b->in_flight++;
    pthread_mutex_unlock(&b->lock);
}

static void *reader_main(void *p)
{
    batch *b = p;
    take_trace_track(b, false);
    for (;;) {
        wait_for_room(b);
        int i = next_job_index(b);
        if (i < 0) {
            pthread_mutex_lock(&b->lock);
            file_done_locked(b);   /* the room taken for a file that did not come */
            pthread_mutex_unlock(&b->lock);
            break;
        }
        job *j = &b->jobs[i];
        if (decode(b, j) != 0)
            report_failure(b, j);
        else
            queue_push(&b->decoded, j);
    }
    queue_producer_done(&b->decoded);
    return NULL;
}

static void pipeline_main(batch *b)
{
    trace_track = b->threads;
    job *j;
    while ((j = queue_pop(&b->decoded)) != NULL) {
        if (process(b, j) != 0)
            report_failure(b, j);
        else
            queue_push(&b->processed, j);
    }
    queue_producer_done(&b->processed);
}

static void *writer_main(void *p)
{
    batch *b = p;
    take_trace_track(b, true);
    job *j;
    while ((j = queue_pop(&b->processed)) != NULL) {
#ifdef IMGPIPE_MPI
        if (b->mpi) {
            pthread_mutex_lock(&b->lock);
            int written = b->written;
            pthread_mutex_unlock(&b->lock);
            img_batch_mpi_test_hook(b->mpi, written);
        }
#endif
        if (encode(b, j, j->out_path) != 0) {
            report_failure(b, j);
            continue;
        }
        pthread_mutex_lock(&b->lock);
        b->megapixels += j->megapixels;
        b->written++;
        file_done_locked(b);
        pthread_mutex_unlock(&b->lock);
    }
    return NULL;
}

/* The real run: `threads` readers and `threads` writers around the pipeline, which
 * runs on the calling thread (the one that owns the backend state). Each input is
 * read once and each output written once. */
static int run_overlapped(batch *b, int threads, img_error *err)
{
    pthread_t writers[MAX_IO_THREADS], readers[MAX_IO_THREADS];
    int writers_started = 0, readers_started = 0;
    b->next_job = 0;
    b->failed = 0;
    b->megapixels = 0;
    b->threads = threads;
    b->reader_tracks = b->writer_tracks = 0;
    b->in_flight = 0;
    /* The writers already encode `threads` files at once: each encode gets its share of
     * the cores, so one big file still uses them all and many files do not
     * oversubscribe them. */
    const int encode_cores = img_write_options_from_cli(b->cli).threads;
    b->encode_threads = encode_cores / threads > 1 ? encode_cores / threads : 1;
    b->busy = (stage_seconds){0};
    if (queue_init(&b->decoded, threads, threads) != 0 ||
        queue_init(&b->processed, threads, 1) != 0) {
        queue_destroy(&b->decoded);
        return img_fail(err, "batch: out of memory for the queues");
    }
    pthread_cond_init(&b->room, NULL);
    /* Writers first: without one the pipeline would block on a full queue. */
    for (int i = 0; i < threads; i++)
        if (pthread_create(&writers[writers_started], NULL, writer_main, b) == 0)
            writers_started++;
    if (writers_started == 0) {
        queue_destroy(&b->decoded);
        queue_destroy(&b->processed);
        pthread_cond_destroy(&b->room);
        return img_fail(err, "batch: cannot start writer threads");
    }
    /* A reader that cannot start simply never produces; fewer readers still finish. */
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&readers[readers_started], NULL, reader_main, b) == 0)
            readers_started++;
        else
            queue_producer_done(&b->decoded);
    }
    int rc = 0;
    if (readers_started == 0) {
        rc = img_fail(err, "batch: cannot start reader threads");
        queue_producer_done(&b->processed);   /* lets the writers finish */
    } else {
        pipeline_main(b);
    }
    for (int i = 0; i < readers_started; i++)
        pthread_join(readers[i], NULL);
    for (int i = 0; i < writers_started; i++)
        pthread_join(writers[i], NULL);
    queue_destroy(&b->decoded);
    queue_destroy(&b->processed);
    pthread_cond_destroy(&b->room);
    return rc;
}

/* --compare's baseline: one file after another on this thread, outputs into the
 * scratch folder. Failures are kept, not printed: the real run that follows meets the
 * same files and names them; only one that fails here alone is reported afterwards.
 * Returns the megapixels written. */
static double run_sequential(batch *b, const char *scratch, int *ok)
{
    double megapixels = 0;
    *ok = 0;
    for (int i = 0; i < b->job_count; i++) {
        job *j = &b->jobs[i];
        char *path = join_path(scratch, j->name);
        int rc = path ? 0 : img_fail(&j->err, "%s: out of memory", j->in_path);
        if (rc == 0)
            rc = decode(b, j);
        if (rc == 0)
            rc = process(b, j);
        if (rc == 0)
            rc = encode(b, j, path);
        if (rc == 0) {
            megapixels += j->megapixels;
            (*ok)++;
        } else {
            j->compare_failed = true;
            j->compare_err = j->err;
        }
        img_image_free(&j->src);
        img_image_free(&j->dst);
        free(path);
    }
    return megapixels;
}

/* Empties and removes the scratch folder (it only ever holds this run's files). */
static int remove_scratch(const char *dir, img_error *err)
{
    int rc = 0;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (unlinkat(dirfd(d), e->d_name, 0) != 0 && rc == 0)
                rc = img_fail(err, "batch: %s/%s: cannot remove the --compare scratch file: %s",
                              dir, e->d_name, strerror(errno));
        }
        closedir(d);
    }
    if (rmdir(dir) != 0 && rc == 0)
        rc = img_fail(err, "batch: %s: cannot remove the --compare scratch folder: %s", dir,
                      strerror(errno));
    return rc;
}

/* Reads every input once so the sequential pass does not pay for a cold page cache
 * that the overlapped run, coming second, would then be spared. */
static void warm_page_cache(const batch *b)
{
    char buf[65536];
    for (int i = 0; i < b->job_count; i++) {
        int fd = open(b->jobs[i].in_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        while (read(fd, buf, sizeof buf) > 0) {
        }
        close(fd);
    }
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const job *)a)->name, ((const job *)b)->name);
}

/* Images are chosen by extension: a README.md or a .DS_Store is not a failure, just
 * not ours. Hidden entries are skipped whatever their extension: macOS puts a "._a.png"
 * resource fork next to a.png on foreign file systems, and it is no image. */
static bool is_image_name(const char *name)
{
    return name[0] != '.' && img_format_from_path(name) != IMG_FORMAT_UNKNOWN;
}

/* The images of the (open) input folder, sorted by name; every other entry is counted
 * in b->ignored. An image name that cannot be stat'ed (a dangling link) is kept, so the
 * read names the problem instead of the file silently vanishing. */
static int list_images(batch *b, DIR *dir, img_error *err)
{
    const img_cli *cli = b->cli;
    int cap = 0;
    struct dirent *e;
    for (;;) {
        errno = 0;
        if ((e = readdir(dir)) == NULL)
            break;
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat st;
        bool chosen = is_image_name(name), have_id = false;
        if (chosen && fstatat(dirfd(dir), name, &st, 0) == 0) {
            chosen = S_ISREG(st.st_mode);   /* a folder called x.png is not an image */
            have_id = chosen;
        }
        if (!chosen) {
            b->ignored++;
            continue;
        }
        if (b->job_count == cap) {
            int grown = cap ? cap * 2 : 64;
            job *more = realloc(b->jobs, sizeof *more * (size_t)grown);
            if (!more)
                return img_fail(err, "batch: out of memory listing %s", cli->input_dir);
            b->jobs = more;
            cap = grown;
        }
        job *j = &b->jobs[b->job_count++];
        memset(j, 0, sizeof *j);
        j->name = strdup(name);
        j->in_path = join_path(cli->input_dir, name);
        j->out_path = join_path(cli->output_dir, name);
        if (!j->name || !j->in_path || !j->out_path)
            return img_fail(err, "batch: out of memory listing %s", cli->input_dir);
        if (have_id) {
            j->have_id = true;
            j->dev = st.st_dev;
            j->ino = st.st_ino;
            j->size = st.st_size;
        }
    }
    if (errno != 0)
        return img_fail(err, "%s: cannot read the input folder: %s", cli->input_dir,
                        strerror(errno));
    if (b->job_count > 1)
        qsort(b->jobs, (size_t)b->job_count, sizeof *b->jobs, compare_names);
    return 0;
}

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    int job;
} file_id;

static int compare_ids(const void *a, const void *b)
{
    const file_id *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* An output that already exists as one of the inputs (a hard link, or a symlink, which
 * image_io writes through) would destroy that input: refused. Inputs are looked up by
 * dev/ino in a sorted table, so any output aliasing any input is found, not only the
 * one of the same name. Returns 1 when refused (err says why), -1 on error. */
static int find_output_overlap(const batch *b, img_error *err)
{
    if (b->job_count == 0)
        return 0;
    file_id *ids = malloc(sizeof *ids * (size_t)b->job_count);
    if (!ids) {
        img_fail(err, "batch: out of memory checking the outputs");
        return -1;
    }
    int n = 0;
    for (int i = 0; i < b->job_count; i++)
        if (b->jobs[i].have_id)
            ids[n++] = (file_id){b->jobs[i].dev, b->jobs[i].ino, i};
    qsort(ids, (size_t)n, sizeof *ids, compare_ids);
    int found = 0;
    for (int i = 0; i < b->job_count && !found; i++) {
        struct stat st;
        if (stat(b->jobs[i].out_path, &st) != 0)
            continue;   /* usually absent; any other problem is the writer's to name */
        file_id key = {st.st_dev, st.st_ino, 0};
        const file_id *hit = bsearch(&key, ids, (size_t)n, sizeof *ids, compare_ids);
        if (hit) {
            img_fail(err,
                     "batch: %s is the input %s (a hard or symbolic link to it): writing it "
                     "would replace that input; nothing was written",
                     b->jobs[i].out_path, b->jobs[hit->job].in_path);
            found = 1;
        }
    }
    free(ids);
    return found;
}

static double per_second(double amount, double seconds)
{
    return seconds > 0 ? amount / seconds : 0;
}

/* The overlapped run's stage sums and which stage limited it: each sum divided by
 * the threads that ran the stage is their busy time, and the stage whose threads were
 * busiest bounds the throughput (encode and write share the writer threads). */
static void print_stage_sums(const stage_seconds *busy, int threads, double wall_s)
{
    printf("  stage time summed over files: decode %.3f s, pipeline %.3f s, encode %.3f s, "
           "write %.3f s; wall %.3f s\n",
           busy->decode, busy->pipeline, busy->encode, busy->write, wall_s);
    const struct {
        const char *name;
        double per_thread;
        int threads;
    } stages[] = {{"decode", busy->decode / threads, threads},
                  {"pipeline", busy->pipeline, 1},
                  {"encode + write", (busy->encode + busy->write) / threads, threads}};
    int limit = 0;
    for (int i = 1; i < 3; i++)
        if (stages[i].per_thread > stages[limit].per_thread)
            limit = i;
    printf("  busiest: %s, %.3f s per thread (%d thread%s, %.0f%% of the wall time)\n",
           stages[limit].name, stages[limit].per_thread, stages[limit].threads,
           stages[limit].threads == 1 ? "" : "s",
           wall_s > 0 ? 100.0 * stages[limit].per_thread / wall_s : 0.0);
}

/* Everything before the backend is probed: checks that need only names and stat(),
 * then the listing. Nothing is initialised or written until the command line is known
 * to be safe to run. Returns IMG_EXIT_OK to go on, else the exit status (err says
 * why). */
static int prepare(batch *b, img_error *err)
{
    const img_cli *cli = b->cli;
    const char *backend_name = cli->backend ? cli->backend : img_backend_reference()->name;
    if (img_backend_by_name(backend_name, &b->backend, err) != 0 ||
        img_check_backend_options(cli, err) != 0)
        return IMG_EXIT_USAGE;
    struct stat in_st, out_st;
    DIR *input = opendir(cli->input_dir);
    if (!input || fstat(dirfd(input), &in_st) != 0) {
        img_fail(err, "%s: cannot open the input folder: %s", cli->input_dir, strerror(errno));
        if (input)
            closedir(input);
        return IMG_EXIT_FAILURE;
    }
    int status = IMG_EXIT_USAGE;
    /* As in run, a target that cannot be written is a usage error (exit 2). */
    if (stat(cli->output_dir, &out_st) != 0) {
        if (errno == ENOENT)
            img_fail(err, "%s: output folder does not exist", cli->output_dir);
        else
            img_fail(err, "%s: output folder: %s", cli->output_dir, strerror(errno));
    } else if (!S_ISDIR(out_st.st_mode)) {
        img_fail(err, "%s: output folder is not a folder", cli->output_dir);
    } else if (access(cli->output_dir, W_OK | X_OK) != 0) {
        img_fail(err, "%s: cannot write into the output folder: %s", cli->output_dir,
                 strerror(errno));
    } else if (in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
        /* dev/ino, not the spelling: "photos/.", "./photos" or a symlink are the same. */
        img_fail(err,
                 "batch: --output-dir %s is the input folder %s: the outputs would replace the "
                 "inputs; choose another folder",
                 cli->output_dir, cli->input_dir);
    } else {
        status = list_images(b, input, err) == 0 ? IMG_EXIT_OK : IMG_EXIT_FAILURE;
    }
    closedir(input);
    if (status != IMG_EXIT_OK)
        return status;
    if (b->job_count == 0) {
        img_fail(err,
                 "%s: no image files (.png, .jpg, .jpeg, .ppm, .pgm); %d other entr%s ignored",
                 cli->input_dir, b->ignored, b->ignored == 1 ? "y" : "ies");
        return IMG_EXIT_FAILURE;
    }
    int overlap = find_output_overlap(b, err);
    if (overlap != 0)
        return overlap > 0 ? IMG_EXIT_USAGE : IMG_EXIT_FAILURE;
    return IMG_EXIT_OK;
}

/* Readers and writers per process: --jobs, else the online cores; never more than
 * there are files (a reader or writer beyond one per file would idle). */
static int io_threads(const batch *b)
{
    const int online = img_online_cpus();
    int threads = b->cli->jobs ? b->cli->jobs : online > MAX_IO_THREADS ? MAX_IO_THREADS : online;
    if (threads > b->job_count)
        threads = b->job_count;
    if (threads > MAX_IO_THREADS)
        threads = MAX_IO_THREADS;
    return threads;
}

/* --compare's pass: the sequential loop into a scratch folder inside OUT, timed. */
static int time_sequential(batch *b, double *seconds, double *megapixels, int *ok,
                           img_error *err)
{
    char *scratch = join_path(b->cli->output_dir, ".imgpipe-compare.XXXXXX");
    if (!scratch || !mkdtemp(scratch)) {
        img_fail(err, "batch: cannot create the --compare scratch folder in %s: %s",
                 b->cli->output_dir, scratch ? strerror(errno) : "out of memory");
        free(scratch);
        return -1;
    }
    warm_page_cache(b);
    double t0 = img_now();
    *megapixels = run_sequential(b, scratch, ok);
    *seconds = img_now() - t0;
    int removed = remove_scratch(scratch, err);
    free(scratch);
    return removed;
}

static void print_summary_line(const batch *b, int ok, int failed)
{
    char what[160] = "";
    if (b->backend->describe)
        b->backend->describe(b->state, what, sizeof what);
    printf("batch: %d image file%s: %d processed, %d failed; %d other entr%s ignored; "
           "backend %s%s%s%s\n",
           b->job_count, b->job_count == 1 ? "" : "s", ok, failed, b->ignored,
           b->ignored == 1 ? "y" : "ies", b->backend->name, what[0] ? " (" : "", what,
           what[0] ? ")" : "");
}

static void free_jobs(batch *b)
{
    for (int i = 0; i < b->job_count; i++) {
        img_image_free(&b->jobs[i].src);
        img_image_free(&b->jobs[i].dst);
        free(b->jobs[i].name);
        free(b->jobs[i].in_path);
        free(b->jobs[i].out_path);
    }
    free(b->jobs);
    b->jobs = NULL;
    b->job_count = 0;
}

#ifdef IMGPIPE_MPI
static int compare_sizes_largest_first(const void *a, const void *b)
{
    const job *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* What rank 0 tells the others once it has checked and listed the folder. */
typedef struct batch_plan_header {
    int status;              /* IMG_EXIT_OK: go on; else every rank exits with it */
    int job_count;
    long long names_size;    /* the names that follow, each NUL-terminated */
} batch_plan_header;

/* Rank 0's list of files, largest first, on every rank: the others build their jobs
 * from the names (a shared file system: the same IN and OUT on every rank). */
static int share_job_list(batch *b, batch_plan_header *header, img_error *err)
{
    img_batch_mpi *mpi = b->mpi;
    bool root = img_batch_mpi_rank(mpi) == 0;
    char *names = NULL;
    if (root && header->status == IMG_EXIT_OK) {
        size_t size = 0;
        for (int i = 0; i < b->job_count; i++)
            size += strlen(b->jobs[i].name) + 1;
        names = malloc(size ? size : 1);
        if (!names) {
            img_fail(err, "batch: out of memory");
            header->status = IMG_EXIT_FAILURE;
        } else {
            size_t at = 0;
            for (int i = 0; i < b->job_count; i++) {
                size_t len = strlen(b->jobs[i].name) + 1;
                memcpy(names + at, b->jobs[i].name, len);
                at += len;
            }
            header->names_size = (long long)size;
        }
    }
    if (img_batch_mpi_broadcast(mpi, header, sizeof *header) != 0)
        return img_fail(err, "batch: cannot receive the file list from rank 0");
    if (header->status != IMG_EXIT_OK) {
        free(names);
        return 0;
    }
    if (!root)
        names = malloc(header->names_size ? (size_t)header->names_size : 1);
    /* Every rank takes part in the broadcast, with or without room for it. */
    char dummy = 0;
    int rc = img_batch_mpi_broadcast(mpi, names ? names : &dummy,
                                     names ? (size_t)header->names_size : 0);
    if (!root && rc == 0 && names) {
        b->jobs = calloc((size_t)header->job_count, sizeof *b->jobs);
        const char *name = names;
        for (int i = 0; b->jobs && i < header->job_count; i++) {
            job *j = &b->jobs[b->job_count++];
            j->name = strdup(name);
            j->in_path = join_path(b->cli->input_dir, name);
            j->out_path = join_path(b->cli->output_dir, name);
            if (!j->name || !j->in_path || !j->out_path)
                rc = -1;
            name += strlen(name) + 1;
        }
        if (!b->jobs)
            rc = -1;
    }
    free(names);
    if (rc != 0 || (!root && !b->jobs))
        return img_fail(err, "batch: out of memory for the file list");
    return 0;
}

/* Every rank learns whether any failed a step (each failing rank names itself and its
 * reason); true when one did, and then every rank stops there together. */
static bool any_rank_failed(img_batch_mpi *mpi, bool failed_here, const img_error *err)
{
    if (failed_here)
        fprintf(stderr, "imgpipe: rank %d (%s): %s\n", img_batch_mpi_rank(mpi),
                img_batch_mpi_host(mpi), err->message);
    return img_batch_mpi_max(mpi, failed_here) != 0;
}

/* `mpirun -n N imgpipe batch`: batch_mpi.h says the design. The per-file work is
 * run_overlapped on every rank, with the next file coming from rank 0. */
static int cmd_batch_mpi(const img_cli *given)
{
    img_error err = {{0}};
    img_batch_mpi *mpi = NULL;
    if (img_batch_mpi_start(&mpi, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        return IMG_EXIT_FAILURE;
    }
    /* --trace is this file's (one timeline of every rank), not the backend's. */
    img_cli plain = *given;
    plain.trace = NULL;
    const char *trace_path = given->trace;
    const int rank = img_batch_mpi_rank(mpi), size = img_batch_mpi_size(mpi);
    batch b = {.cli = &plain, .mpi = mpi};
    pthread_mutex_init(&b.lock, NULL);
    bool live = false;
    img_batch_rank_stats *ranks = NULL;
    void *all_spans = NULL;
    int status = IMG_EXIT_FAILURE;

    batch_plan_header header = {.status = IMG_EXIT_OK};
    if (rank == 0) {
        header.status = prepare(&b, &err);
        if (header.status == IMG_EXIT_OK && b.job_count > 1)
            qsort(b.jobs, (size_t)b.job_count, sizeof *b.jobs, compare_sizes_largest_first);
        header.job_count = b.job_count;
    }
    if (share_job_list(&b, &header, &err) != 0) {
        fprintf(stderr, "imgpipe: rank %d: %s\n", rank, err.message);
        goto out;   /* MPI itself failed: the run cannot go on together */
    }
    if (header.status != IMG_EXIT_OK) {
        if (rank == 0)
            fprintf(stderr, "imgpipe: %s\n", err.message);
        status = header.status;
        goto out;
    }

    /* Each rank its own backend, probed only now, as a single process does. */
    bool failed = false;
    if (rank != 0) {
        const char *name = plain.backend ? plain.backend : img_backend_reference()->name;
        failed = img_backend_by_name(name, &b.backend, &err) != 0;
    }
    if (!failed)
        failed = img_backend_check_available(b.backend, &err) != 0;
    if (!failed) {
        img_backend_options options = img_backend_options_from_cli(&plain);
        failed = b.backend->init(&b.state, &options, &err) != 0;
        live = !failed;
    }
    if (any_rank_failed(mpi, failed, &err))
        goto out;
    const int threads = io_threads(&b);

    double sequential_s = 0, sequential_mp = 0;
    int sequential_ok = 0;
    if (plain.compare && rank == 0)
        failed = time_sequential(&b, &sequential_s, &sequential_mp, &sequential_ok, &err) != 0;
    if (any_rank_failed(mpi, failed, &err))
        goto out;

    if (trace_path) {
        /* Each file gives at most four spans on one rank, each request one wait. */
        b.span_capacity = 5 * b.job_count + 2 * threads + 16;
        b.spans = malloc(sizeof *b.spans * (size_t)b.span_capacity);
        failed = !b.spans;
        if (failed)
            img_fail(&err, "batch: out of memory for the trace");
    }
    if (any_rank_failed(mpi, failed, &err))
        goto out;
    /* Every rank from here takes part in the dispatch until rank 0 has told it "no
     * more" (or it has said it leaves). Rank 0 aborts the run if it cannot dispatch. */
    img_batch_mpi_dispatch_start(mpi, b.job_count);
    /* The common start: every rank's clock reads zero here (to a barrier's skew). */
    img_batch_mpi_barrier(mpi);
    b.zero = img_now();
    /* One file per reader, plus one being processed: decoding still overlaps the
     * pipeline and the writing, and a rank never holds files another could take. */
    b.in_flight_limit = threads + 1;
    bool run_failed = run_overlapped(&b, threads, &err) != 0;
    double finished_s = img_now() - b.zero;
    if (run_failed)
        fprintf(stderr, "imgpipe: rank %d (%s): %s\n", rank, img_batch_mpi_host(mpi), err.message);
    img_batch_mpi_dispatch_stop(mpi);

    img_batch_rank_stats mine = {
        .ok = b.written,
        .failed = b.failed + (run_failed ? 1 : 0),
        .threads = threads,
        .span_count = b.span_count,
        .megapixels = b.megapixels,
        .finished_s = finished_s,
        .waiting_s = b.waiting_s,
        .decode_s = b.busy.decode,
        .pipeline_s = b.busy.pipeline,
        .encode_s = b.busy.encode,
        .write_s = b.busy.write,
    };
    snprintf(mine.host, sizeof mine.host, "%s", img_batch_mpi_host(mpi));
    if (rank == 0 && !(ranks = calloc((size_t)size, sizeof *ranks)))
        img_batch_mpi_abort(mpi, "out of memory for the ranks' figures");
    if (img_batch_mpi_gather(mpi, &mine, sizeof mine, ranks) != 0) {
        fprintf(stderr, "imgpipe: rank %d: cannot gather the ranks' figures\n", rank);
        goto out;
    }
    size_t *span_sizes = NULL;
    int trace_status = 0;
    if (trace_path) {
        if (rank == 0 && !(span_sizes = calloc((size_t)size, sizeof *span_sizes)))
            img_batch_mpi_abort(mpi, "out of memory for the trace");
        trace_status = img_batch_mpi_gather_sizes(
            mpi, b.spans, sizeof *b.spans * (size_t)b.span_count, &all_spans, span_sizes, &err);
    }
    int final_status = IMG_EXIT_OK;
    if (rank == 0) {
        double wall_s = 0;
        int ok = 0, failures = 0;
        for (int r = 0; r < size; r++) {
            if (ranks[r].finished_s > wall_s)
                wall_s = ranks[r].finished_s;
            ok += ranks[r].ok;
            failures += ranks[r].failed;
        }
        print_summary_line(&b, ok, failures);
        img_batch_mpi_report(ranks, size, wall_s, sequential_s, sequential_ok, sequential_mp);
        if (trace_path && trace_status == 0) {
            const char **names = malloc(sizeof *names * (size_t)b.job_count);
            bool spans_complete = names != NULL;
            for (int r = 0; r < size && spans_complete; r++)
                spans_complete = span_sizes[r] == sizeof(img_batch_span) * (size_t)ranks[r].span_count;
            if (!spans_complete)
                trace_status = img_fail(&err, "batch: the ranks' trace spans did not arrive whole");
            else {
                for (int i = 0; i < b.job_count; i++)
                    names[i] = b.jobs[i].name;
                trace_status = img_batch_mpi_write_trace(trace_path, ranks, size, all_spans,
                                                         wall_s, names, &err);
            }
            free(names);
        }
        if (trace_path && trace_status != 0)
            fprintf(stderr, "imgpipe: %s\n", err.message);
        else if (trace_path)
            printf("  trace: %s (one process row per rank)\n", trace_path);
        final_status = failures || trace_status ? IMG_EXIT_FAILURE : IMG_EXIT_OK;
    }
    free(span_sizes);
    /* Every rank exits with the run's status, so mpirun's is the run's. */
    if (img_batch_mpi_broadcast(mpi, &final_status, sizeof final_status) == 0)
        status = final_status;
out:
    if (live)
        b.backend->destroy(b.state);
    free(ranks);
    free(all_spans);
    free(b.spans);
    free_jobs(&b);
    pthread_mutex_destroy(&b.lock);
    img_batch_mpi_finish(mpi);
    return status;
}
#endif

int img_cmd_batch(const img_cli *cli)
{
#ifdef IMGPIPE_MPI
    if (img_batch_mpi_launched())
        return cmd_batch_mpi(cli);
#endif
    img_error err = {{0}};
    batch b = {.cli = cli};
    int status = IMG_EXIT_FAILURE;
    bool live = false;
    pthread_mutex_init(&b.lock, NULL);

    if (cli->trace) {
#ifdef IMGPIPE_MPI
        img_fail(&err, "batch: --trace is for batch under mpirun (one timeline of every "
                       "rank); a single image: run --trace");
#else
        img_fail(&err, "batch: --trace is for batch under mpirun, and this imgpipe was built "
                       "without MPI (IMGPIPE_MPI=OFF); a single image: run --trace");
#endif
        status = IMG_EXIT_USAGE;
        goto out;
    }
    status = prepare(&b, &err);
    if (status != IMG_EXIT_OK)
        goto out;
    status = IMG_EXIT_FAILURE;

    /* Only now the backend: probing may load drivers (OpenCL), worth it for a run.
     * Asked for by name, a backend that cannot run here is a failure (exit 1). */
    if (img_backend_check_available(b.backend, &err) != 0)
        goto out;
    img_backend_options options = img_backend_options_from_cli(cli);
    if (b.backend->init(&b.state, &options, &err) != 0)
        goto out;
    live = true;
    const int threads = io_threads(&b);

    double sequential_s = 0, sequential_mp = 0;
    int sequential_ok = 0;
    if (cli->compare &&
        time_sequential(&b, &sequential_s, &sequential_mp, &sequential_ok, &err) != 0)
        goto out;

    double t0 = img_now();
    if (run_overlapped(&b, threads, &err) != 0)
        goto out;
    double overlapped_s = img_now() - t0;

    int compare_only_failures = 0;
    for (int i = 0; i < b.job_count; i++)
        if (b.jobs[i].compare_failed && !b.jobs[i].failed) {
            fprintf(stderr, "imgpipe: batch: --compare: %s\n", b.jobs[i].compare_err.message);
            compare_only_failures++;
        }

    int ok = b.job_count - b.failed;
    print_summary_line(&b, ok, b.failed);
    char overlapped_label[96];
    snprintf(overlapped_label, sizeof overlapped_label, "overlapped (%d reader%s, %d writer%s):",
             threads, threads == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
    const char *sequential_label = "sequential loop (--compare):";
    int width = (int)strlen(overlapped_label);
    if (cli->compare && (int)strlen(sequential_label) > width)
        width = (int)strlen(sequential_label);
    if (cli->compare)
        printf("  %-*s %8.3f s %9.2f images/s %9.2f MP/s\n", width, sequential_label,
               sequential_s, per_second(sequential_ok, sequential_s),
               per_second(sequential_mp, sequential_s));
    printf("  %-*s %8.3f s %9.2f images/s %9.2f MP/s", width, overlapped_label, overlapped_s,
           per_second(ok, overlapped_s), per_second(b.megapixels, overlapped_s));
    if (cli->compare)
        printf("  %.2fx", per_second(sequential_s, overlapped_s));
    printf("\n");
    print_stage_sums(&b.busy, threads, overlapped_s);
    status = b.failed || compare_only_failures ? IMG_EXIT_FAILURE : IMG_EXIT_OK;
    err.message[0] = '\0';
out:
    if (status != IMG_EXIT_OK && err.message[0])
        fprintf(stderr, "imgpipe: %s\n", err.message);
    if (live)
        b.backend->destroy(b.state);
    free_jobs(&b);
    pthread_mutex_destroy(&b.lock);
    return status;
}
