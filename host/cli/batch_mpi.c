/* The MPI transport of `mpirun -n N imgpipe batch` (batch_mpi.h says the design). */
#include "batch_mpi.h"

#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fsutil.h"
#include "json.h"

enum { TAG_REQUEST = 1, TAG_REPLY = 2 };
/* A request's content: a file wanted, or leaving without one (a rank whose run could
 * not start says so, or rank 0 would wait for it forever). */
enum { ASK_FOR_WORK = 0, ASK_TO_LEAVE = 1 };

/* How long a wait sleeps between polls: short against a file's tens of milliseconds
 * (and each rank asks for its next file before it runs out), long enough that a waiting
 * rank or the dispatcher uses next to no CPU. Measured: at 0.1 ms, rank 0's dispatcher
 * woke 10 000 times a second and its rank, sharing the core, ran the pipeline a third
 * slower than the others (32-42 MP/s against 51-57; 2 ranks on the 2-core VM); at 1 ms
 * the ranks are even and the whole 2-rank batch 1.71-1.78 s instead of 1.88-2.12. */
#define POLL_SLEEP_NS 1000000L

struct img_batch_mpi {
    int rank, size;
    char host[MPI_MAX_PROCESSOR_NAME];

    /* Rank 0: the next job to hand out, shared by its readers and the dispatcher. */
    pthread_mutex_t lock;
    int next_job, job_count;
    pthread_t dispatcher;
    bool dispatching;

    /* The other ranks: readers ask one at a time (MPI_THREAD_SERIALIZED). */
    bool asking;               /* between dispatch_start and rank 0's "no more" */
};

bool img_batch_mpi_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

static void nap(void)
{
    struct timespec ts = {0, POLL_SLEEP_NS};
    nanosleep(&ts, NULL);
}

/* Completes a request without spinning: MPI_Wait would keep a core busy. */
static int wait_politely(MPI_Request *request)
{
    int done = 0;
    for (;;) {
        if (MPI_Test(request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (done)
            return 0;
        nap();
    }
}

int img_batch_mpi_start(img_batch_mpi **out, img_error *err)
{
    *out = NULL;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return img_fail(err, "batch: MPI_Init_thread failed");
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        return img_fail(err, "batch: this MPI does not allow calls from more than one thread "
                             "(MPI_THREAD_SERIALIZED)");
    }
    img_batch_mpi *mpi = calloc(1, sizeof *mpi);
    if (!mpi) {
        MPI_Finalize();
        return img_fail(err, "batch: out of memory");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi->size);
    int len = 0;
    if (MPI_Get_processor_name(mpi->host, &len) != MPI_SUCCESS)
        snprintf(mpi->host, sizeof mpi->host, "?");
    pthread_mutex_init(&mpi->lock, NULL);
    *out = mpi;
    return 0;
}

void img_batch_mpi_abort(const img_batch_mpi *mpi, const char *why)
{
    fprintf(stderr, "imgpipe: rank %d (%s): batch: %s; aborting the run\n", mpi->rank, mpi->host,
            why);
    MPI_Abort(MPI_COMM_WORLD, 1);
    abort();   /* MPI_Abort does not return; this keeps the compiler sure of it */
}

int img_batch_mpi_rank(const img_batch_mpi *mpi) { return mpi->rank; }
int img_batch_mpi_size(const img_batch_mpi *mpi) { return mpi->size; }
const char *img_batch_mpi_host(const img_batch_mpi *mpi) { return mpi->host; }

void img_batch_mpi_finish(img_batch_mpi *mpi)
{
    if (!mpi)
        return;
    img_batch_mpi_dispatch_stop(mpi);
    pthread_mutex_destroy(&mpi->lock);
    free(mpi);
    MPI_Finalize();
}

int img_batch_mpi_broadcast(img_batch_mpi *mpi, void *data, size_t size)
{
    (void)mpi;
    MPI_Request request;
    if (size > (size_t)INT32_MAX ||
        MPI_Ibcast(data, (int)size, MPI_BYTE, 0, MPI_COMM_WORLD, &request) != MPI_SUCCESS)
        return -1;
    return wait_politely(&request);
}

int img_batch_mpi_barrier(img_batch_mpi *mpi)
{
    (void)mpi;
    MPI_Request request;
    if (MPI_Ibarrier(MPI_COMM_WORLD, &request) != MPI_SUCCESS)
        return -1;
    return wait_politely(&request);
}

int img_batch_mpi_max(img_batch_mpi *mpi, int value)
{
    (void)mpi;
    int result = value;
    MPI_Request request;
    if (MPI_Iallreduce(&value, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &request) !=
            MPI_SUCCESS ||
        wait_politely(&request) != 0)
        return value;
    return result;
}

int img_batch_mpi_gather(img_batch_mpi *mpi, const void *mine, size_t size, void *all)
{
    MPI_Request request;
    if (size > (size_t)INT32_MAX ||
        MPI_Igather(mine, (int)size, MPI_BYTE, mpi->rank == 0 ? all : NULL, (int)size, MPI_BYTE,
                    0, MPI_COMM_WORLD, &request) != MPI_SUCCESS)
        return -1;
    return wait_politely(&request);
}

int img_batch_mpi_gather_sizes(img_batch_mpi *mpi, const void *mine, size_t size, void **all,
                               size_t *sizes, img_error *err)
{
    *all = NULL;
    if (size > (size_t)INT32_MAX)
        return img_fail(err, "batch: %zu bytes are too many to send in one message", size);
    int mine_count = (int)size;
    int *counts = NULL, *offsets = NULL;
    if (mpi->rank == 0) {
        counts = calloc((size_t)mpi->size, sizeof *counts);
        offsets = calloc((size_t)mpi->size, sizeof *offsets);
        if (!counts || !offsets)
            img_batch_mpi_abort(mpi, "out of memory gathering the trace");
    }
    int rc = img_batch_mpi_gather(mpi, &mine_count, sizeof mine_count, counts);
    long long total = 0;
    if (mpi->rank == 0)
        for (int r = 0; r < mpi->size; r++) {
            offsets[r] = (int)total;
            total += counts[r];
        }
    char *buffer = NULL;
    if (mpi->rank == 0) {
        if (total > INT32_MAX)
            img_batch_mpi_abort(mpi, "the ranks' trace spans are too many for one message");
        buffer = malloc(total > 0 ? (size_t)total : 1);
        if (!buffer)
            img_batch_mpi_abort(mpi, "out of memory gathering the trace");
    }
    MPI_Request request;
    if (rc == 0 &&
        (MPI_Igatherv(mine, mine_count, MPI_BYTE, buffer, counts, offsets, MPI_BYTE, 0,
                      MPI_COMM_WORLD, &request) != MPI_SUCCESS ||
         wait_politely(&request) != 0))
        rc = -1;
    if (mpi->rank == 0) {
        if (rc == 0) {
            for (int r = 0; r < mpi->size; r++)
                sizes[r] = (size_t)counts[r];
            *all = buffer;
        } else {
            free(buffer);
            rc = img_fail(err, "batch: cannot gather the ranks' trace spans");
        }
    }
    free(counts);
    free(offsets);
    return rc;
}

/* Rank 0's side of the dispatch; called with the lock held by both its readers and the
 * dispatcher thread. */
static int take_job(img_batch_mpi *mpi)
{
    return mpi->next_job < mpi->job_count ? mpi->next_job++ : -1;
}

/* Rank 0's dispatcher thread: answers each request with the next job index until every
 * other rank has received its "no more" (-1; a rank asks no further after it). */
static void *dispatcher_main(void *p)
{
    img_batch_mpi *mpi = p;
    int stopped = 0;
    while (stopped < mpi->size - 1) {
        int flag = 0;
        MPI_Status status;
        if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &flag, &status) !=
            MPI_SUCCESS)
            break;
        if (!flag) {
            nap();
            continue;
        }
        int ask = ASK_FOR_WORK;
        MPI_Recv(&ask, 1, MPI_INT, status.MPI_SOURCE, TAG_REQUEST, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        pthread_mutex_lock(&mpi->lock);
        int job = ask == ASK_FOR_WORK ? take_job(mpi) : -1;
        pthread_mutex_unlock(&mpi->lock);
        MPI_Send(&job, 1, MPI_INT, status.MPI_SOURCE, TAG_REPLY, MPI_COMM_WORLD);
        if (job < 0)
            stopped++;
    }
    return NULL;
}

void img_batch_mpi_dispatch_start(img_batch_mpi *mpi, int job_count)
{
    mpi->job_count = job_count;
    mpi->next_job = 0;
    mpi->asking = mpi->rank != 0;
    if (mpi->rank != 0 || mpi->size == 1)
        return;
    /* The others would wait for answers forever: the whole run stops here. */
    if (pthread_create(&mpi->dispatcher, NULL, dispatcher_main, mpi) != 0)
        img_batch_mpi_abort(mpi, "cannot start the dispatcher thread");
    mpi->dispatching = true;
}

/* One request to rank 0's dispatcher and its answer: a job index or -1. */
static int ask_rank0(int ask)
{
    int job = -1;
    MPI_Request request;
    if (MPI_Send(&ask, 1, MPI_INT, 0, TAG_REQUEST, MPI_COMM_WORLD) != MPI_SUCCESS ||
        MPI_Irecv(&job, 1, MPI_INT, 0, TAG_REPLY, MPI_COMM_WORLD, &request) != MPI_SUCCESS ||
        wait_politely(&request) != 0)
        return -1;
    return job;
}

int img_batch_mpi_next_job(img_batch_mpi *mpi, double *waited_s)
{
    double t0 = img_now();
    int job = -1;
    pthread_mutex_lock(&mpi->lock);
    if (mpi->rank == 0) {
        job = take_job(mpi);
    } else if (mpi->asking) {
        job = ask_rank0(ASK_FOR_WORK);
        if (job < 0)
            mpi->asking = false;
    }
    pthread_mutex_unlock(&mpi->lock);
    *waited_s = img_now() - t0;
    return job;
}

void img_batch_mpi_dispatch_stop(img_batch_mpi *mpi)
{
    if (mpi->asking) {
        ask_rank0(ASK_TO_LEAVE);
        mpi->asking = false;
    }
    if (mpi->dispatching) {
        pthread_join(mpi->dispatcher, NULL);
        mpi->dispatching = false;
    }
}

void img_batch_mpi_test_hook(const img_batch_mpi *mpi, int outputs_written)
{
#ifdef IMGPIPE_MPI_TEST_HOOKS
    const char *victim = getenv("IMGPIPE_TEST_MPI_KILL_RANK");
    if (victim && atoi(victim) == mpi->rank && outputs_written >= 1)
        raise(SIGKILL);
#else
    (void)mpi;
    (void)outputs_written;
#endif
}

static double per_second(double amount, double seconds)
{
    return seconds > 0 ? amount / seconds : 0;
}

void img_batch_mpi_report(const img_batch_rank_stats *ranks, int size, double wall_s,
                          double sequential_s, int sequential_ok, double sequential_mp)
{
    int ok = 0, failed = 0;
    double megapixels = 0;
    for (int r = 0; r < size; r++) {
        ok += ranks[r].ok;
        failed += ranks[r].failed;
        megapixels += ranks[r].megapixels;
    }
    printf("batch under MPI: %d rank%s; per rank (images/s and MP/s over the whole run's "
           "wall time, so they add up to the total; busy: until its last file was done, "
           "idle: the rest; waiting: its readers asking for work, summed):\n",
           size, size == 1 ? "" : "s");
    printf("  %-4s %-20s %6s %6s %8s %9s %8s %8s %8s %9s\n", "rank", "host", "files", "failed",
           "images/s", "MP/s", "busy s", "idle s", "waiting", "threads");
    for (int r = 0; r < size; r++) {
        const img_batch_rank_stats *s = &ranks[r];
        double idle = wall_s - s->finished_s;
        printf("  %-4d %-20.20s %6d %6d %8.2f %9.2f %8.3f %8.3f %8.3f %9d\n", r, s->host, s->ok,
               s->failed, per_second(s->ok, wall_s), per_second(s->megapixels, wall_s),
               s->finished_s, idle > 0 ? idle : 0, s->waiting_s, s->threads);
    }
    printf("  total: %d processed, %d failed in %.3f s: %.2f images/s, %.2f MP/s\n", ok, failed,
           wall_s, per_second(ok, wall_s), per_second(megapixels, wall_s));
    if (sequential_s > 0)
        printf("  sequential loop (--compare, rank 0 alone): %.3f s, %.2f images/s, %.2f MP/s; "
               "the ranks together %.2fx\n",
               sequential_s, per_second(sequential_ok, sequential_s),
               per_second(sequential_mp, sequential_s), per_second(sequential_s, wall_s));
}

static const char *const stage_names[IMG_BATCH_STAGES] = {"decode", "pipeline", "encode",
                                                          "write", "waiting for work"};

/* A time of the run: never before the ranks' common zero. */
static void print_us(FILE *f, int64_t ns)
{
    img_trace_print_us(f, ns < 0 ? 0 : ns);
}

static void print_metadata(FILE *f, const char *what, int pid, int tid, const char *key,
                           const char *text, int number)
{
    fprintf(f, ",\n{\"name\": \"%s\", \"ph\": \"M\", \"pid\": %d, \"tid\": %d, \"args\": {\"%s\": ",
            what, pid, tid, key);
    if (text)
        img_json_string(f, text);
    else
        fprintf(f, "%d", number);
    fputs("}}", f);
}

int img_batch_mpi_write_trace(const char *path, const img_batch_rank_stats *ranks, int size,
                              const img_batch_span *spans, double wall_s,
                              const char *const *names, img_error *err)
{
    img_atomic_file file;
    if (img_atomic_open(&file, path, err) != 0)
        return -1;
    FILE *f = file.f;
    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
    /* A harmless first event, so that every later one starts with a comma. */
    fputs("{\"name\": \"imgpipe batch under MPI\", \"ph\": \"M\", \"pid\": 0, \"tid\": 0, "
          "\"args\": {}}",
          f);
    const img_batch_span *s = spans;
    for (int r = 0; r < size; r++) {
        char label[128];
        snprintf(label, sizeof label, "rank %d (%s)", r, ranks[r].host);
        print_metadata(f, "process_name", r, 0, "name", label, 0);
        print_metadata(f, "process_sort_index", r, 0, "sort_index", NULL, r);
        int threads = ranks[r].threads;
        for (int t = 0; t < 2 * threads + 1; t++) {
            char track[64];
            if (t < threads)
                snprintf(track, sizeof track, "reader %d", t);
            else if (t == threads)
                snprintf(track, sizeof track, "pipeline");
            else
                snprintf(track, sizeof track, "writer %d", t - threads - 1);
            print_metadata(f, "thread_name", r, t, "name", track, 0);
            print_metadata(f, "thread_sort_index", r, t, "sort_index", NULL, t);
        }
        for (int i = 0; i < ranks[r].span_count; i++, s++) {
            const char *stage =
                s->stage >= 0 && s->stage < IMG_BATCH_STAGES ? stage_names[s->stage] : "?";
            char name[512];
            if (s->file >= 0)
                snprintf(name, sizeof name, "%s %s", stage, names[s->file]);
            else
                snprintf(name, sizeof name, "%s", stage);
            fputs(",\n{\"name\": ", f);
            img_json_string(f, name);
            fputs(", \"cat\": ", f);
            img_json_string(f, stage);
            fputs(", \"ph\": \"X\", \"ts\": ", f);
            print_us(f, s->start_ns);
            fputs(", \"dur\": ", f);
            print_us(f, s->end_ns - s->start_ns);
            fprintf(f, ", \"pid\": %d, \"tid\": %d}", r, s->track);
        }
        /* From its last file to the end of the run the rank waited for the others. */
        int64_t done_ns = (int64_t)(ranks[r].finished_s * 1e9);
        int64_t end_ns = (int64_t)(wall_s * 1e9);
        if (end_ns > done_ns) {
            fputs(",\n{\"name\": \"waiting for the other ranks\", \"cat\": \"waiting\", "
                  "\"ph\": \"X\", \"ts\": ",
                  f);
            print_us(f, done_ns);
            fputs(", \"dur\": ", f);
            print_us(f, end_ns - done_ns);
            fprintf(f, ", \"pid\": %d, \"tid\": %d}", r, threads);
        }
    }
    fputs("\n], \"otherData\": {\"clock\": \"each rank's CLOCK_MONOTONIC, zero at a common "
          "MPI_Barrier\"}}\n",
          f);
    return img_atomic_commit(&file, err);
}
