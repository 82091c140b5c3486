/* Small helpers shared by the test files: deterministic random images and
 * images from literal values. */
#ifndef IMG_TESTS_TEST_HELPERS_H
#define IMG_TESTS_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image.h"

static inline uint32_t test_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* The run's seed (checkasm style): IMGPIPE_TEST_SEED=N replays a run, and
 * IMGPIPE_TEST_SEED=random draws one from the clock; unset, it is 0, which leaves the
 * fixed seeds unchanged so that CI stays reproducible. It is mixed into every fixed
 * seed and printed once per test binary on stderr. Criterion runs each test in a
 * child process, which may start the binary afresh: the runner, which starts first,
 * puts the seed it chose into the environment so that every test uses the same one. */
static uint32_t test_seed_value;

__attribute__((constructor)) static void test_seed_init(void)
{
    const char *env = getenv("IMGPIPE_TEST_SEED");
    const bool chosen = env && strcmp(env, "random") == 0;
    uint32_t seed = 0;
    if (chosen) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint32_t)ts.tv_sec * 1000003u ^ (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
        char buf[16];
        snprintf(buf, sizeof buf, "%u", (unsigned)seed);
        setenv("IMGPIPE_TEST_SEED", buf, 1);
    } else if (env && *env) {
        seed = (uint32_t)strtoul(env, NULL, 0);
    }
    test_seed_value = seed;
    if (!getenv("IMGPIPE_TEST_SEED_SHOWN")) {
        fprintf(stderr, "IMGPIPE_TEST_SEED=%u%s\n", (unsigned)seed,
                chosen ? " (from the clock; set it to replay this run)"
                       : env ? "" : " (the fixed seeds; IMGPIPE_TEST_SEED=random for new inputs)");
        setenv("IMGPIPE_TEST_SEED_SHOWN", "1", 1);
    }
}

/* A fixed seed with the run's seed mixed in (unchanged when the run's seed is 0). */
static inline uint32_t test_mix_seed(uint32_t seed)
{
    return seed ^ test_seed_value * 2654435761u;
}

/* A w x h image with `channels` planes of random bytes (seeded, the run's seed mixed
 * in). */
static inline void test_random_image(img_image *img, int w, int h, int channels, uint32_t seed)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, channels, 0, &err), 0, "%s", err.message);
    uint32_t s = test_mix_seed(seed ? seed : 1);
    if (s == 0)
        s = 1;   /* xorshift's fixed point */
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img_row(img, c, y)[x] = (uint8_t)(test_random(&s) >> 24);
}

/* A one-channel image from row-major values. */
static inline void test_gray_image(img_image *img, int w, int h, const uint8_t *values)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, 1, 0, &err), 0, "%s", err.message);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img_row(img, 0, y)[x] = values[y * w + x];
}

/* What one run of the imgpipe binary did. */
typedef struct test_result {
    int status;              /* exit status */
    char out[16384];         /* stdout, cut to fit */
    char err[8192];          /* stderr, cut to fit */
    long max_rss_kb;         /* the child's peak resident memory (exec starts it afresh) */
    double seconds;          /* wall time from fork to exit */
} test_result;

static inline void test_read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Runs the imgpipe binary with args (NULL-terminated). env, when not NULL, is a
 * NULL-terminated list applied in the child only: "NAME=VALUE" sets, "NAME" unsets. */
static inline void test_run_binary(test_result *r, const char *const *env, const char **args)
{
    char out_path[] = "/tmp/imgpipe-test-out.XXXXXX", err_path[] = "/tmp/imgpipe-test-err.XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    cr_assert(out_fd >= 0 && err_fd >= 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char *argv[64] = {IMGPIPE_BINARY};
        for (int i = 0; args[i] && i < 62; i++)
            argv[i + 1] = (char *)args[i];
        for (int i = 0; env && env[i]; i++)
            if (strchr(env[i], '='))
                putenv((char *)env[i]);
            else
                unsetenv(env[i]);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(IMGPIPE_BINARY, argv);
        _exit(127);
    }
    int ws;
    struct rusage usage;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wait4(pid, &ws, 0, &usage);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert(WIFEXITED(ws), "imgpipe died from a signal");
    r->status = WEXITSTATUS(ws);
    r->max_rss_kb = usage.ru_maxrss;
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    close(out_fd);
    close(err_fd);
    test_read_file(out_path, r->out, sizeof r->out);
    test_read_file(err_path, r->err, sizeof r->err);
    unlink(out_path);
    unlink(err_path);
}

#endif
