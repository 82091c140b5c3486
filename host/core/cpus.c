/* CPU affinity: one parser for CPU lists, used both for the user's list and for the
 * kernel's list of online CPUs (same "0,2-3" syntax); sets of CPUs seen at work. */
#include "cpus.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int img_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > CPU_SETSIZE ? CPU_SETSIZE : (int)n;
}

/* One CPU number: decimal digits only (no sign, no blanks). Values beyond the
 * cpu_set_t are reported as such rather than wrapped. */
static int parse_cpu(const char **p, const char *list, int *cpu, img_error *err)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s)) {
        if (*s == '\0' || *s == ',')
            return img_fail(err, "CPU list \"%s\": empty item", list);
        return img_fail(err, "CPU list \"%s\": unexpected \"%s\"", list, s);
    }
    long v = 0;
    while (isdigit((unsigned char)*s)) {
        if (v < CPU_SETSIZE)   /* stop growing early: no overflow, still "too large" */
            v = v * 10 + (*s - '0');
        s++;
    }
    if (v >= CPU_SETSIZE)
        return img_fail(err, "CPU list \"%s\": CPU %.*s is out of range (0 to %d)", list,
                        (int)(s - *p), *p, CPU_SETSIZE - 1);
    *cpu = (int)v;
    *p = s;
    return 0;
}

/* Parses "N", "N-M" items separated by commas into set. allow_newline accepts the
 * trailing newline of a sysfs file. */
static int parse_cpu_list(const char *list, bool allow_newline, cpu_set_t *set, img_error *err)
{
    CPU_ZERO(set);
    const char *p = list;
    if (*p == '\0' || (allow_newline && *p == '\n'))
        return img_fail(err, "CPU list is empty");
    for (;;) {
        int lo, hi;
        if (parse_cpu(&p, list, &lo, err) != 0)
            return -1;
        hi = lo;
        if (*p == '-') {
            p++;
            if (parse_cpu(&p, list, &hi, err) != 0)
                return -1;
            if (hi < lo)
                return img_fail(err, "CPU list \"%s\": range %d-%d is descending", list, lo, hi);
        }
        for (int c = lo; c <= hi; c++)
            CPU_SET(c, set);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0' || (allow_newline && p[0] == '\n' && p[1] == '\0'))
            return 0;
        return img_fail(err, "CPU list \"%s\": unexpected \"%s\"", list, p);
    }
}

/* The kernel's list of online CPUs; when sysfs is unavailable, assume CPUs
 * 0..online-1, which is what sysconf reports on a machine without holes. */
static void online_set(cpu_set_t *set)
{
    char buf[4096];
    FILE *f = fopen("/sys/devices/system/cpu/online", "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    if (n > 0 && parse_cpu_list(buf, true, set, NULL) == 0)
        return;
    CPU_ZERO(set);
    for (int c = 0, count = img_online_cpus(); c < count; c++)
        CPU_SET(c, set);
}

int img_set_cpus(const char *list, img_error *err)
{
    if (!list)
        return img_fail(err, "CPU list is empty");
    cpu_set_t want, online;
    if (parse_cpu_list(list, false, &want, err) != 0)
        return -1;
    online_set(&online);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &want) && !CPU_ISSET(c, &online))
            return img_fail(err, "CPU list \"%s\": CPU %d is not online (%d online)", list, c,
                            CPU_COUNT(&online));
    /* pid 0 is the calling thread; threads it creates later inherit the mask. */
    if (sched_setaffinity(0, sizeof want, &want) != 0)
        return img_fail(err, "cannot restrict the process to CPUs \"%s\": %s", list,
                        strerror(errno));
    return 0;
}

int img_expected_cpus(int threads, int cores, int widest_batch)
{
    int n = 0;
    const int limits[] = {threads, cores, widest_batch};
    for (int i = 0; i < 3; i++)
        if (limits[i] > 0 && (n == 0 || limits[i] < n))
            n = limits[i];
    return n > 0 ? n : 1;
}

bool img_cpus_disturbed(double cpus_used, int expected)
{
    return cpus_used > 0 && expected >= 2 && cpus_used < expected;
}

void img_cpu_mask_add(img_cpu_mask *m, int cpu)
{
    if (cpu >= 0 && cpu < IMG_CPU_MASK_CPUS)
        m->bits[cpu / 64] |= (uint64_t)1 << (cpu % 64);
}

void img_cpu_mask_or(img_cpu_mask *m, const img_cpu_mask *other)
{
    for (int w = 0; w < IMG_CPU_MASK_CPUS / 64; w++)
        m->bits[w] |= other->bits[w];
}

static bool mask_has(const img_cpu_mask *m, int cpu)
{
    return cpu >= 0 && cpu < IMG_CPU_MASK_CPUS && (m->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int img_cpu_mask_count(const img_cpu_mask *m)
{
    int n = 0;
    for (int c = 0; c < IMG_CPU_MASK_CPUS; c++)
        n += mask_has(m, c);
    return n;
}

void img_cpu_mask_format(const img_cpu_mask *m, char *buf, size_t len)
{
    size_t n = 0;
    if (len)
        buf[0] = '\0';
    for (int c = 0; c < IMG_CPU_MASK_CPUS && n < len; c++) {
        if (!mask_has(m, c))
            continue;
        int e = c;
        while (mask_has(m, e + 1))
            e++;
        int k = e > c ? snprintf(buf + n, len - n, "%s%d-%d", n ? "," : "", c, e)
                      : snprintf(buf + n, len - n, "%s%d", n ? "," : "", c);
        n += k > 0 ? (size_t)k : 0;
        c = e;
    }
}
