/* What bench found for one backend x setting x size. The names are what bench.csv,
 * bench.json, the printed table and the charts show; code compares the enum. */
#ifndef IMG_MEASURE_VERDICT_H
#define IMG_MEASURE_VERDICT_H

typedef enum img_verdict {
    IMG_VERDICT_NONE = 0,      /* not decided yet: "" */
    IMG_VERDICT_BIT_EXACT,     /* verified against serial, then timed */
    IMG_VERDICT_MISMATCH,      /* ran, but its output differs from serial's */
    IMG_VERDICT_ERROR,         /* failed while running */
    IMG_VERDICT_UNAVAILABLE,   /* cannot run on this machine */
    IMG_VERDICT_COUNT
} img_verdict;

/* "bit-exact", "MISMATCH", "ERROR", "unavailable"; "" for NONE and unknown values. */
const char *img_verdict_name(img_verdict v);

/* The verdict a name stands for (as read back from bench.csv); IMG_VERDICT_NONE for a
 * name that is none of them. */
img_verdict img_verdict_from_name(const char *name);

/* MISMATCH and ERROR: a result nobody expected, which makes bench exit non-zero. */
static inline int img_verdict_is_failure(img_verdict v)
{
    return v == IMG_VERDICT_MISMATCH || v == IMG_VERDICT_ERROR;
}

#endif
