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

/* The i-th name a SIMD backend accepts for options.simd_level besides "auto", weakest
 * first; NULL past the last (or when no backend has levels). For validating --simd
 * before any backend is chosen. */
const char *img_backend_simd_level(int i);

/* Writes "serial, threads, ..." into buf: for error messages listing valid names. */
void img_backend_names(char *buf, size_t len);

#endif
