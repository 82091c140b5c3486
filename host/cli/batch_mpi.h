/* `mpirun -n N imgpipe batch`: the MPI half of batch, kept out of every other file.
 *
 * Built only with IMGPIPE_MPI (CMake finds MPI); cmd_batch.c calls into it only when
 * img_batch_mpi_launched() says the process was started by mpirun, so a plain
 * `imgpipe batch` never initialises MPI and costs nothing more than it did.
 *
 * Rank 0 lists and checks the folder exactly as a single process does, then hands the
 * files out one at a time, largest first: every rank (rank 0 too) asks for the next
 * file when one of its reader threads is free, so a slow rank or a big file never holds
 * the others. Rank 0 answers the other ranks from a dispatcher thread that polls and
 * sleeps rather than spinning, so with 2 ranks on 2 cores it costs next to nothing and
 * rank 0 is a full worker as well.
 *
 * Only one thread calls MPI at a time (MPI_THREAD_SERIALIZED): on rank 0 the
 * dispatcher during the run and the main thread before and after it; on the others
 * the reader threads, one at a time under a mutex. Every wait polls with short sleeps
 * (Open MPI's blocking calls spin a core, which the rank's own threads need). */
#ifndef IMG_CLI_BATCH_MPI_H
#define IMG_CLI_BATCH_MPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "trace.h"

typedef struct img_batch_mpi img_batch_mpi;

/* True when mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMIx's PMIX_RANK) started us. */
bool img_batch_mpi_launched(void);

/* MPI_Init_thread; *out is NULL on failure (err says why). */
int img_batch_mpi_start(img_batch_mpi **out, img_error *err);
int img_batch_mpi_rank(const img_batch_mpi *mpi);
/* Where the run cannot go on together (rank 0 out of memory for what the others send
 * it, no dispatcher thread): names this rank and why on stderr, then MPI_Abort, which
 * ends every rank and makes mpirun exit non-zero. Does not return. */
_Noreturn void img_batch_mpi_abort(const img_batch_mpi *mpi, const char *why);
int img_batch_mpi_size(const img_batch_mpi *mpi);
const char *img_batch_mpi_host(const img_batch_mpi *mpi);
/* MPI_Finalize and free; safe on NULL. */
void img_batch_mpi_finish(img_batch_mpi *mpi);

/* Collectives (each rank calls each, in the same order), waiting politely. */
int img_batch_mpi_broadcast(img_batch_mpi *mpi, void *data, size_t size);
int img_batch_mpi_barrier(img_batch_mpi *mpi);
/* The largest of every rank's value, on every rank. */
int img_batch_mpi_max(img_batch_mpi *mpi, int value);
/* Rank 0 receives size bytes from each rank into all[rank * size]; all is ignored on
 * the others. */
int img_batch_mpi_gather(img_batch_mpi *mpi, const void *mine, size_t size, void *all);
/* The same for a different size per rank: on rank 0, *all (malloc'ed, caller frees)
 * holds the ranks' bytes one after the other and sizes[rank] each one's size. */
int img_batch_mpi_gather_sizes(img_batch_mpi *mpi, const void *mine, size_t size, void **all,
                               size_t *sizes, img_error *err);

/* The dispatch of job indices 0..job_count-1, in that order. Rank 0 starts a
 * dispatcher thread that answers the other ranks until each has been told "no more"
 * (or said it leaves); the others start nothing. Rank 0 aborts the run when it cannot
 * start the thread. */
void img_batch_mpi_dispatch_start(img_batch_mpi *mpi, int job_count);
/* From any thread of any rank: the next job index, or -1 when every file has been
 * handed out. *waited_s: how long this call waited for its answer. */
int img_batch_mpi_next_job(img_batch_mpi *mpi, double *waited_s);
/* Rank 0: waits until every other rank has been told "no more", then joins the
 * dispatcher. The others: a rank that stopped before being told (its run could not
 * start) tells rank 0 it leaves. */
void img_batch_mpi_dispatch_stop(img_batch_mpi *mpi);

/* TEST HOOK, inert in normal use: compiled only into builds with IMGPIPE_MPI_TEST_HOOKS
 * (Debug), and then only acting when IMGPIPE_TEST_MPI_KILL_RANK names this rank: that
 * rank kills itself (SIGKILL) before writing its second output, which is how the test
 * checks that a rank dying aborts the run, names the rank and leaves nothing half
 * written. Elsewhere it does nothing. */
void img_batch_mpi_test_hook(const img_batch_mpi *mpi, int outputs_written);

/* One rank's share of the run, gathered on rank 0 for the report and the trace. */
typedef struct img_batch_rank_stats {
    char host[64];
    int ok, failed;            /* files written; files that failed on this rank */
    int threads;               /* reader and writer threads of this rank */
    int span_count;            /* trace spans this rank sends (0 without --trace) */
    double megapixels;         /* of the files written */
    double finished_s;         /* from the common start until its last file was done */
    double waiting_s;          /* summed over its readers: asking rank 0 for work */
    double decode_s, pipeline_s, encode_s, write_s;   /* stage sums, as batch reports */
} img_batch_rank_stats;

/* One span of a rank's timeline, in nanoseconds from the common start. */
typedef struct img_batch_span {
    int32_t track;             /* 0..threads-1 readers, threads the pipeline, then writers */
    int32_t stage;             /* an img_batch_stage */
    int32_t file;              /* job index, -1 for none */
    int32_t pad;
    int64_t start_ns, end_ns;
} img_batch_span;

typedef enum img_batch_stage {
    IMG_BATCH_DECODE,
    IMG_BATCH_PIPELINE,
    IMG_BATCH_ENCODE,
    IMG_BATCH_WRITE,
    IMG_BATCH_WAITING,         /* asking rank 0 for the next file */
    IMG_BATCH_STAGES
} img_batch_stage;

/* Rank 0: the one report of the whole run on stdout. wall_s: from the common start
 * until the last rank finished. sequential_s > 0: --compare's sequential loop (on
 * rank 0 alone) to compare the total against. */
void img_batch_mpi_report(const img_batch_rank_stats *ranks, int size, double wall_s,
                          double sequential_s, int sequential_ok, double sequential_mp);

/* Rank 0: one Chrome trace, a process row per rank ("rank N (host)") with its reader,
 * pipeline and writer threads, plus each rank's wait for the others at the end.
 * spans holds every rank's spans one rank after the other (ranks[r].span_count each);
 * names[i] is job i's file name. */
int img_batch_mpi_write_trace(const char *path, const img_batch_rank_stats *ranks, int size,
                              const img_batch_span *spans, double wall_s,
                              const char *const *names, img_error *err);

#endif
