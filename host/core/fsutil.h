/* Small file-system helpers shared by every writer of text and binary files (reports,
 * chart data, traces, the OpenCL program cache). Images have their own atomic writer
 * in image_io.c, which also handles device targets and keeps permissions. */
#ifndef IMG_CORE_FSUTIL_H
#define IMG_CORE_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* mkdir -p: creates every missing component of dir, then checks it is a folder that
 * takes new files. */
int img_make_dirs(const char *dir, img_error *err);

/* Atomic output: a temporary file next to the target (same file system, so rename()
 * is atomic), renamed over it on commit; a reader sees the old file or the new one,
 * never half of one. */
typedef struct img_atomic_file {
    FILE *f;                 /* write through this */
    char path[4096];
    char tmp[4200];
} img_atomic_file;

int img_atomic_open(img_atomic_file *file, const char *path, img_error *err);

/* Checks every write, flushes, closes, makes the file 0644 and renames it over the
 * target; on any failure removes the temporary file and leaves the target alone. */
int img_atomic_commit(img_atomic_file *file, img_error *err);

/* Closes and removes the temporary file (for error paths); safe after commit. */
void img_atomic_abort(img_atomic_file *file);

/* The whole of data into path, atomically. */
int img_write_file_atomic(const char *path, const void *data, size_t len, img_error *err);

#endif
