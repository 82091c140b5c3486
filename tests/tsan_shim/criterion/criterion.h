/* A stand-in for <criterion/criterion.h>, used only by ThreadSanitizer builds.
 *
 * Criterion cannot start under GCC's TSan: BoxFort maps its inheritable arena at a
 * random address between 0x2000'0000'0000 and 0x6000'0000'0000, nearly all of which
 * TSan reserves for its shadow, so initialisation fails ("Could not initialize
 * inheritable arena") or crashes (upstream: Snaipe/Criterion#274, still open). TSan
 * builds therefore compile the tests against this header and link main.c next to it:
 * the same Test() / cr_assert* / cr_expect* surface, each test run in a forked child
 * like Criterion does. Only that subset exists; a test needing more fails to compile in
 * the TSan build, which is the honest outcome. */
#ifndef IMGPIPE_TSAN_SHIM_CRITERION_H
#define IMGPIPE_TSAN_SHIM_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct imgpipe_shim_options {
    int unused_first;   /* lets `{0, __VA_ARGS__}` accept zero designators */
    double timeout;     /* seconds; 0 = none */
    bool disabled;
    void (*init)(void);
    void (*fini)(void);
    const char *description;
};

struct imgpipe_shim_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    struct imgpipe_shim_options options;
    struct imgpipe_shim_test *next;
};

void imgpipe_shim_register(struct imgpipe_shim_test *test);

/* Reports a failed check with the expression and the optional printf-style message;
 * a fatal one ends the test (its child process). Not marked format(printf) because
 * the message is optional: the macros pass "" when there is none. */
void imgpipe_shim_fail(bool fatal, const char *file, int line, const char *expr,
                       const char *fmt, ...);

#define Test(suite, name, ...)                                                               \
    static void suite##_##name##_impl(void);                                                 \
    __attribute__((constructor)) static void suite##_##name##_register(void)                 \
    {                                                                                        \
        static struct imgpipe_shim_test test = {#suite, #name, suite##_##name##_impl,        \
                                                {0, __VA_ARGS__}, NULL};                     \
        imgpipe_shim_register(&test);                                                        \
    }                                                                                        \
    static void suite##_##name##_impl(void)

#define IMGPIPE_SHIM_CHECK(fatal, cond, expr, ...)                                           \
    do {                                                                                     \
        if (!(cond))                                                                         \
            imgpipe_shim_fail(fatal, __FILE__, __LINE__, expr, "" __VA_ARGS__);              \
    } while (0)

#define cr_assert(cond, ...) IMGPIPE_SHIM_CHECK(true, (cond), #cond, __VA_ARGS__)
#define cr_expect(cond, ...) IMGPIPE_SHIM_CHECK(false, (cond), #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) IMGPIPE_SHIM_CHECK(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) IMGPIPE_SHIM_CHECK(false, !(cond), "!(" #cond ")", __VA_ARGS__)

#define IMGPIPE_SHIM_CMP(fatal, a, op, b, ...)                                               \
    IMGPIPE_SHIM_CHECK(fatal, ((a) op (b)), #a " " #op " " #b, __VA_ARGS__)

#define cr_assert_eq(a, b, ...) IMGPIPE_SHIM_CMP(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) IMGPIPE_SHIM_CMP(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) IMGPIPE_SHIM_CMP(true, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) IMGPIPE_SHIM_CMP(true, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) IMGPIPE_SHIM_CMP(true, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) IMGPIPE_SHIM_CMP(true, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) IMGPIPE_SHIM_CMP(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) IMGPIPE_SHIM_CMP(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) IMGPIPE_SHIM_CMP(false, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) IMGPIPE_SHIM_CMP(false, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) IMGPIPE_SHIM_CMP(false, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) IMGPIPE_SHIM_CMP(false, a, >=, b, __VA_ARGS__)

#define cr_assert_null(p, ...) IMGPIPE_SHIM_CHECK(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...)                                                           \
    IMGPIPE_SHIM_CHECK(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) IMGPIPE_SHIM_CHECK(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...)                                                           \
    IMGPIPE_SHIM_CHECK(false, (p) != NULL, #p " != NULL", __VA_ARGS__)

#define cr_assert_str_eq(a, b, ...)                                                          \
    IMGPIPE_SHIM_CHECK(true, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                         \
    IMGPIPE_SHIM_CHECK(true, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)                                                          \
    IMGPIPE_SHIM_CHECK(false, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)

#define cr_assert_fail(...) imgpipe_shim_fail(true, __FILE__, __LINE__, "fail", "" __VA_ARGS__)

#endif
