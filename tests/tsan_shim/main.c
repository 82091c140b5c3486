/* The runner of the TSan stand-in for Criterion (see criterion/criterion.h): runs each
 * registered test in a forked child, so a failed assertion, a crash or a ThreadSanitizer
 * report (TSan makes the child exit with status 66) fails that test only, and a test
 * that changes process state (CPU affinity) cannot affect the next one. */
#include "criterion/criterion.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct imgpipe_shim_test *registered;
static bool failed_expectation;

void imgpipe_shim_register(struct imgpipe_shim_test *test)
{
    test->next = registered;
    registered = test;
}

void imgpipe_shim_fail(bool fatal, const char *file, int line, const char *expr,
                       const char *fmt, ...)
{
    fprintf(stderr, "[----] %s:%d: %s failed: %s", file, line, fatal ? "Assertion" : "Expectation",
            expr);
    if (fmt[0]) {
        fputs(": ", stderr);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(stderr);
    if (fatal)
        exit(1);
    failed_expectation = true;
}

/* Runs in the child: exit status 0 is a pass. */
static void run_child(const struct imgpipe_shim_test *t)
{
    if (t->options.timeout > 0)
        alarm((unsigned)(t->options.timeout + 0.999));
    if (t->options.init)
        t->options.init();
    t->fn();
    if (t->options.fini)
        t->options.fini();
    exit(failed_expectation ? 1 : 0);
}

static int by_name(const void *a, const void *b)
{
    const struct imgpipe_shim_test *x = *(const struct imgpipe_shim_test *const *)a;
    const struct imgpipe_shim_test *y = *(const struct imgpipe_shim_test *const *)b;
    int c = strcmp(x->suite, y->suite);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    /* Criterion's own options (ctest passes --jobs) are accepted; --filter PATTERN
     * selects "suite/name" like Criterion's. Tests run one at a time. */
    const char *filter = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;

    size_t n = 0;
    for (struct imgpipe_shim_test *t = registered; t; t = t->next)
        n++;
    struct imgpipe_shim_test **tests = calloc(n ? n : 1, sizeof *tests);
    if (!tests)
        return 2;
    n = 0;
    for (struct imgpipe_shim_test *t = registered; t; t = t->next)
        tests[n++] = t;
    qsort(tests, n, sizeof *tests, by_name);

    int ran = 0, passed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct imgpipe_shim_test *t = tests[i];
        char full[256];
        snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
        if (t->options.disabled || (filter && fnmatch(filter, full, 0) != 0))
            continue;
        ran++;
        fflush(NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            free(tests);
            return 2;
        }
        if (pid == 0)
            run_child(t);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
            ;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
            fprintf(stderr, "[PASS] %s::%s: (%.2fs)\n", t->suite, t->name, s);
        } else if (WIFSIGNALED(status)) {
            fprintf(stderr, "[FAIL] %s::%s: CRASH! signal %d%s (%.2fs)\n", t->suite, t->name,
                    WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout)" : "", s);
        } else {
            fprintf(stderr, "[FAIL] %s::%s: exit status %d%s (%.2fs)\n", t->suite, t->name,
                    WEXITSTATUS(status),
                    WEXITSTATUS(status) == 66 ? " (ThreadSanitizer report)" : "", s);
        }
    }
    free(tests);
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d\n", ran, passed,
            ran - passed);
    return passed == ran ? 0 : 1;
}
