/* The list of backends, in the order users see them. */
#ifndef IMG_BACKENDS_REGISTRY_H
#define IMG_BACKENDS_REGISTRY_H

#include <stddef.h>

#include "backend.h"

/* Number of registered backends and the i-th one. */
size_t img_backend_count(void);
const img_backend *img_backend_at(size_t i);

/* Backend by exact name, or NULL. */
const img_backend *img_backend_find(const char *name);

/* The reference every other backend must match bit for bit (serial). */
const img_backend *img_backend_reference(void);

/* The first backend, in list order, with every flag of all_of and none of none_of
 * (IMG_BACKEND_*), or NULL: how callers find "the threads-scaling backend" or "the
 * single-threaded SIMD one" without naming either. */
const img_backend *img_backend_with_flags(unsigned all_of, unsigned none_of);

/* The i-th name a SIMD backend accepts for options.simd_level besides "auto", weakest
 * first; NULL past the last (or when no backend has levels). For validating --simd
 * before any backend is chosen. */
const char *img_backend_simd_level(int i);

/* Writes "serial, threads, ..." into buf: for error messages listing valid names. */
void img_backend_names(char *buf, size_t len);

#endif
