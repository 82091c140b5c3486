#include "envinfo.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cpu_features.h"
#include "cpus.h"

#ifndef IMGPIPE_C_FLAGS
#define IMGPIPE_C_FLAGS "unknown"
#endif
#ifndef IMGPIPE_BUILD_TYPE
#define IMGPIPE_BUILD_TYPE "unknown"
#endif
#ifndef IMGPIPE_SOURCE_DIR
#define IMGPIPE_SOURCE_DIR "."
#endif

static void read_cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(buf, len, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

void img_cpu_simd_flags(char *buf, size_t len)
{
    img_cpu_features_format(img_cpu_features(), buf, len);
}

/* Runs a short command and keeps its first output line; "unknown" when it fails. */
static void first_line_of(const char *command, char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *p = popen(command, "r");
    if (!p)
        return;
    char line[256];
    if (fgets(line, sizeof line, p)) {
        size_t n = strcspn(line, "\n");
        if (n > 0) {
            /* A plain bounded copy: the line may be longer than buf, and is cut. */
            if (n >= len)
                n = len - 1;
            memcpy(buf, line, n);
            buf[n] = '\0';
        }
    }
    pclose(p);
}

static void describe_affinity(char *buf, size_t len, int *allowed)
{
    cpu_set_t set;
    *allowed = 0;
    buf[0] = '\0';
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        snprintf(buf, len, "unknown");
        return;
    }
    size_t used = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        int end = cpu;
        while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, &set))
            end++;
        *allowed += end - cpu + 1;
        int n = end > cpu ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", cpu, end)
                          : snprintf(buf + used, len - used, "%s%d", used ? "," : "", cpu);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
        cpu = end;
    }
}

void img_env_collect(img_env *env)
{
    memset(env, 0, sizeof *env);
    read_cpu_model(env->cpu_model, sizeof env->cpu_model);
    img_cpu_simd_flags(env->cpu_flags, sizeof env->cpu_flags);
    env->cores_online = img_online_cpus();
    describe_affinity(env->affinity, sizeof env->affinity, &env->cores_allowed);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(env->kernel, sizeof env->kernel, "%s %s %s", u.sysname, u.release, u.machine);
#if defined(__clang__)
    snprintf(env->compiler, sizeof env->compiler, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(env->compiler, sizeof env->compiler, "gcc %s", __VERSION__);
#else
    snprintf(env->compiler, sizeof env->compiler, "unknown");
#endif
    snprintf(env->c_flags, sizeof env->c_flags, "%s", IMGPIPE_C_FLAGS);
    snprintf(env->build_type, sizeof env->build_type, "%s", IMGPIPE_BUILD_TYPE);
    first_line_of("git -C '" IMGPIPE_SOURCE_DIR "' describe --always --dirty --abbrev=12 2>/dev/null",
                  env->commit, sizeof env->commit);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(env->date, sizeof env->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(env->hostname, sizeof env->hostname - 1) != 0)
        snprintf(env->hostname, sizeof env->hostname, "unknown");
    double load[1];
    env->load_average = getloadavg(load, 1) == 1 ? load[0] : -1.0;
}

/* Sums the "cpu" line of /proc/stat: total jiffies and the idle + iowait ones. */
static int read_cpu_times(unsigned long long *total, unsigned long long *idle)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *idle = v[3] + v[4];
    return 0;
}

double img_busy_cores(double seconds)
{
    unsigned long long t0, i0, t1, i1;
    if (read_cpu_times(&t0, &i0) != 0)
        return -1.0;
    struct timespec pause = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&pause, NULL);
    if (read_cpu_times(&t1, &i1) != 0 || t1 <= t0)
        return -1.0;
    double busy = 1.0 - (double)(i1 - i0) / (double)(t1 - t0);
    return busy * (double)img_online_cpus();
}
