/* bench.csv and bench.json: one row per backend x setting x size, and the
 * environment record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "bench.h"
#include "fsutil.h"

double img_breakdown_get(const img_breakdown *b, const char *name)
{
    for (int i = 0; i < b->count; i++)
        if (strcmp(b->part[i].name, name) == 0)
            return b->part[i].seconds;
    return -1.0;
}

/* CSV fields are quoted when they hold a comma, a quote or a newline. */
static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *const breakdown_columns[] = {"build", "upload", "kernel", "download"};

int img_bench_write_csv(FILE *f, const img_bench_report *r)
{
    fputs("backend,setting,simd,threads,cpus,width,height,channels,out_width,out_height,"
          "verdict,reps,median_s,min_s,max_s,q1_s,q3_s,iqr_s,mpix_per_s,gb_per_s,"
          "bandwidth_fraction,speedup_vs_serial,speedup_vs_1_thread,parallel_efficiency,cpu_s_per_run,cpu_per_wall,vcsw_per_run,"
          "ivcsw_per_run,init_s,cold_s,build_s,upload_s,kernel_s,download_s,stage_brightness_s,"
          "stage_contrast_s,stage_blur_s,stage_resize_s,cpus_used_per_run,cpus_ran_on,disturbed,"
          "breakdown,note\n",
          f);
    for (int i = 0; i < r->row_count; i++) {
        const img_bench_row *row = &r->rows[i];
        csv_field(f, row->backend);
        fputc(',', f);
        csv_field(f, row->setting);
        fputc(',', f);
        csv_field(f, row->simd);
        fprintf(f, ",%d,", row->threads);
        csv_field(f, row->cpus);
        fprintf(f, ",%d,%d,%d,%d,%d,", row->width, row->height, row->channels, row->out_width,
                row->out_height);
        csv_field(f, row->verdict);
        fprintf(f, ",%zu,%.9f,%.9f,%.9f,%.9f,%.9f,%.9f,%.3f,%.4f,%.4f,%.3f,%.3f,%.3f,%.6f,%.3f,"
                   "%.2f,%.2f,%.6f,%.6f",
                row->time.count, row->time.median, row->time.min, row->time.max, row->time.q1,
                row->time.q3, row->time.iqr, row->mpix_per_s, row->gb_per_s,
                row->bandwidth_fraction, row->speedup, row->speedup_vs_1_thread,
                row->parallel_efficiency, row->cpu_per_run, row->cpu_per_wall,
                row->vcsw_per_run, row->ivcsw_per_run, row->init_s, row->cold_s);
        for (size_t c = 0; c < sizeof breakdown_columns / sizeof breakdown_columns[0]; c++) {
            double v = img_breakdown_get(&row->breakdown, breakdown_columns[c]);
            if (v >= 0)
                fprintf(f, ",%.9f", v);
            else
                fputs(",", f);
        }
        for (int s = 0; s < IMG_STAGE_COUNT; s++) {
            if (row->stage_s[s] >= 0)
                fprintf(f, ",%.9f", row->stage_s[s]);
            else
                fputs(",", f);
        }
        /* Where the tasks ran: only the threads backend records it. */
        if (row->disturbed >= 0) {
            fprintf(f, ",%.2f,", row->cpus_used);
            csv_field(f, row->cpus_ran_on);
            fprintf(f, ",%d", row->disturbed);
        } else {
            fputs(",,,", f);
        }
        char parts[512] = "";
        size_t used = 0;
        for (int p = 0; p < row->breakdown.count && used < sizeof parts; p++) {
            int n = snprintf(parts + used, sizeof parts - used, "%s%s=%.9f", p ? ";" : "",
                             row->breakdown.part[p].name, row->breakdown.part[p].seconds);
            used += n > 0 ? (size_t)n : 0;
        }
        fputc(',', f);
        csv_field(f, parts);
        fputc(',', f);
        csv_field(f, row->note);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* One string member of the environment object (every member but the first). */
static void json_member(FILE *f, const char *key, const char *value)
{
    fprintf(f, ",\n    \"%s\": ", key);
    json_string(f, value);
}

static void json_env(FILE *f, const img_env *e)
{
    fprintf(f, "  \"environment\": {\n    \"cpu_model\": ");
    json_string(f, e->cpu_model);
    json_member(f, "cpu_simd_flags", e->cpu_flags);
    fprintf(f, ",\n    \"cores_online\": %d,\n    \"cores_allowed\": %d", e->cores_online,
            e->cores_allowed);
    json_member(f, "affinity", e->affinity);
    json_member(f, "kernel", e->kernel);
    json_member(f, "hostname", e->hostname);
    json_member(f, "compiler", e->compiler);
    json_member(f, "c_flags", e->c_flags);
    json_member(f, "build_type", e->build_type);
    json_member(f, "commit", e->commit);
    json_member(f, "date", e->date);
    fprintf(f, ",\n    \"load_average_1min\": %.2f", e->load_average);
    fprintf(f, ",\n    \"busy_cores_before_run\": %.2f", e->busy_cores);
    if (e->opencl[0])
        json_member(f, "opencl", e->opencl);
    fprintf(f, "\n  },\n");
}

int img_bench_write_json(FILE *f, const img_bench_report *r)
{
    fprintf(f, "{\n");
    json_env(f, &r->env);
    fprintf(f, "  \"command_line\": ");
    json_string(f, r->command_line);
    fprintf(f, ",\n  \"gpu_cpu_crossover\": ");
    json_string(f, r->crossover);
    /* Which trace files in the folder are this run's: an earlier run's are not. */
    fputs(",\n  \"trace_files\": [", f);
    for (int i = 0; i < r->trace_file_count; i++) {
        fputs(i ? ", " : "", f);
        json_string(f, r->trace_files[i]);
    }
    fputc(']', f);
    fprintf(f, ",\n  \"copy_bandwidth_gb_per_s\": %.3f,\n  \"reps_min\": %d,\n  \"warmup\": %d,\n"
               "  \"min_time_s\": %.3f,\n  \"rows\": [\n",
            r->copy_bandwidth_gbs, r->reps, r->warmup, r->min_time);
    for (int i = 0; i < r->row_count; i++) {
        const img_bench_row *row = &r->rows[i];
        fprintf(f, "    {\"backend\": ");
        json_string(f, row->backend);
        fprintf(f, ", \"setting\": ");
        json_string(f, row->setting);
        fprintf(f, ", \"simd\": ");
        json_string(f, row->simd);
        fprintf(f, ", \"threads\": %d, \"cpus\": ", row->threads);
        json_string(f, row->cpus);
        fprintf(f, ", \"width\": %d, \"height\": %d, \"channels\": %d, \"out_width\": %d, "
                   "\"out_height\": %d, \"verdict\": ",
                row->width, row->height, row->channels, row->out_width, row->out_height);
        json_string(f, row->verdict);
        fprintf(f, ", \"note\": ");
        json_string(f, row->note);
        fprintf(f,
                ", \"reps\": %zu, \"median_s\": %.9f, \"min_s\": %.9f, \"max_s\": %.9f, "
                "\"q1_s\": %.9f, \"q3_s\": %.9f, \"iqr_s\": %.9f, \"mpix_per_s\": %.3f, "
                "\"gb_per_s\": %.4f, \"bandwidth_fraction\": %.4f, \"speedup_vs_serial\": %.3f, "
                "\"speedup_vs_1_thread\": %.3f, \"parallel_efficiency\": %.3f, "
                "\"cpu_s_per_run\": %.6f, \"cpu_per_wall\": %.3f, \"vcsw_per_run\": %.2f, "
                "\"ivcsw_per_run\": %.2f, \"init_s\": %.6f, \"cold_s\": %.6f, \"stages\": {",
                row->time.count, row->time.median, row->time.min, row->time.max, row->time.q1,
                row->time.q3, row->time.iqr, row->mpix_per_s, row->gb_per_s,
                row->bandwidth_fraction, row->speedup, row->speedup_vs_1_thread,
                row->parallel_efficiency, row->cpu_per_run, row->cpu_per_wall,
                row->vcsw_per_run, row->ivcsw_per_run, row->init_s, row->cold_s);
        int shown = 0;
        for (int s = 0; s < IMG_STAGE_COUNT; s++) {
            if (row->stage_s[s] < 0)
                continue;
            fprintf(f, "%s\"%s\": %.9f", shown++ ? ", " : "", img_stage_name((img_stage)s),
                    row->stage_s[s]);
        }
        fprintf(f, "}, ");
        if (row->disturbed >= 0) {
            fprintf(f, "\"cpus_used_per_run\": %.2f, \"cpus_possible\": %d, \"cpus_ran_on\": ",
                    row->cpus_used, row->cpus_possible);
            json_string(f, row->cpus_ran_on);
            fprintf(f, ", \"disturbed\": %s, ", row->disturbed ? "true" : "false");
        } else {
            fputs("\"cpus_used_per_run\": null, \"cpus_ran_on\": null, \"disturbed\": null, ", f);
        }
        fprintf(f, "\"breakdown\": {");
        for (int p = 0; p < row->breakdown.count; p++) {
            fprintf(f, "%s", p ? ", " : "");
            json_string(f, row->breakdown.part[p].name);
            fprintf(f, ": %.9f", row->breakdown.part[p].seconds);
        }
        fprintf(f, "}}%s\n", i + 1 < r->row_count ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return ferror(f) ? -1 : 0;
}

int img_write_text_file(const char *dir, const char *name,
                        int (*fn)(FILE *, const img_bench_report *),
                        const img_bench_report *report, img_error *err)
{
    char path[4096];
    img_atomic_file file;
    if (img_make_dirs(dir, err) != 0)
        return -1;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return img_fail(err, "%s/%s: path too long", dir, name);
    if (img_atomic_open(&file, path, err) != 0)
        return -1;
    if (fn(file.f, report) != 0) {
        img_atomic_abort(&file);
        return img_fail(err, "%s: write failed", path);
    }
    return img_atomic_commit(&file, err);
}

void img_bench_describe_disturbed(const img_bench_row *row, char *buf, size_t len)
{
    bool one = row->cpus_ran_on[0] && !strpbrk(row->cpus_ran_on, ",-");
    if (one && row->cpus_used <= 1.0)
        snprintf(buf, len, "all tasks ran on CPU %s", row->cpus_ran_on);
    else
        snprintf(buf, len, "tasks ran on %g of %d possible CPUs per run (median)", row->cpus_used,
                 row->cpus_possible);
}

double img_measure_copy_bandwidth(void)
{
    const size_t bytes = (size_t)256 << 20;   /* far beyond any cache */
    unsigned char *a = malloc(bytes), *b = malloc(bytes);
    double best = 0.0;
    if (a && b) {
        memset(a, 1, bytes);
        memset(b, 2, bytes);   /* fault the pages in before timing */
        for (int rep = 0; rep < 5; rep++) {
            double t0 = img_now();
            memcpy(rep & 1 ? a : b, rep & 1 ? b : a, bytes);
            double t = img_now() - t0;
            double gbs = 2.0 * (double)bytes / t / 1e9;
            if (gbs > best)
                best = gbs;
        }
    }
    free(a);
    free(b);
    return best;
}
