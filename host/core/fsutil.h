/* File-system helpers shared by every reader and writer: mkdir -p, the one whole-file
 * reader and the one atomic writer (images, reports, chart data, traces and the OpenCL
 * program cache all go through these, so the rules below hold for every file). */
#ifndef IMG_CORE_FSUTIL_H
#define IMG_CORE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

/* mkdir -p: creates every missing component of dir, then checks it is a folder that
 * takes new files. */
int img_make_dirs(const char *dir, img_error *err);

/* ---- reading ---- */

/* Reads the whole regular file at path into a new buffer (free() it), NUL-terminated
 * one byte past *size so text can be parsed in place. Refuses directories, devices,
 * FIFOs (without blocking on them) and files over `limit` bytes before reading
 * anything. An empty file gives *size == 0; a file that shrinks meanwhile gives what
 * is left. Messages: "<path>: <strerror>", "is a directory", "not a regular file",
 * "file is too large (N bytes; the limit is L)", "read failed: ..."; errno is set too
 * (EISDIR, EINVAL, EFBIG, ENOMEM or the system's), for callers that pass err == NULL. */
int img_read_whole_file(const char *path, size_t limit, uint8_t **data, size_t *size,
                        img_error *err);

/* ---- writing ----
 *
 * Atomic output, one policy for every file: the data goes into a temporary file next
 * to the target (same file system, so rename() is atomic), which is flushed, fsynced,
 * given the target's permissions (an existing file keeps its mode; a new one gets
 * 0666 & ~umask, as any program creating it would) and renamed over the target; the
 * folder is then fsynced, best effort. A reader sees the old file or the new one,
 * never half of one; on any failure the temporary file is removed and the target is
 * left alone. Writing through a symbolic link replaces the file it points to, not the
 * link. Devices and FIFOs cannot be replaced by rename: the image writer writes into
 * them directly; here they are refused. */
typedef struct img_atomic_file {
    FILE *f;                 /* write through this */
    char path[4096];         /* the name given, for messages */
    char target[4096];       /* the file replaced (path, or where its link points) */
    char tmp[4200];
    mode_t mode;             /* permissions the target gets */
} img_atomic_file;

int img_atomic_open(img_atomic_file *file, const char *path, img_error *err);

/* Checks every write, flushes, fsyncs, sets the mode, closes and renames the file over
 * the target; on any failure removes the temporary file and leaves the target alone. */
int img_atomic_commit(img_atomic_file *file, img_error *err);

/* Closes and removes the temporary file (for error paths); safe after commit. */
void img_atomic_abort(img_atomic_file *file);

/* Writes the content of a file into f; returns 0, or -1 after filling err (when it
 * returns -1 without a message, the write is reported as "write failed"). */
typedef int img_write_fn(FILE *f, void *ctx, img_error *err);

/* Opens, calls fn, commits; on failure nothing is left behind. */
int img_write_atomic(const char *path, img_write_fn *fn, void *ctx, img_error *err);

/* The whole of data into path, atomically. */
int img_write_file_atomic(const char *path, const void *data, size_t len, img_error *err);

#endif
