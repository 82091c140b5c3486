/* bench.csv and bench.json: one row per backend x setting x size, and the
 * environment record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "bench.h"
#include "chart.h"
#include "fsutil.h"
#include "json.h"

double img_breakdown_get(const img_breakdown *b, const char *name)
{
    for (int i = 0; i < b->count; i++)
        if (strcmp(b->part[i].name, name) == 0)
            return b->part[i].seconds;
    return -1.0;
}

void img_csv_write_field(FILE *f, const char *s)
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

static const void *field_at(const img_bench_row *row, const img_bench_field *field)
{
    return (const char *)row + field->offset;
}

/* One plain field's value: the same text in the CSV and the JSON, but for quoting. */
static void write_field(FILE *f, const img_bench_row *row, const img_bench_field *field,
                        bool json)
{
    const void *p = field_at(row, field);
    switch (field->type) {
    case IMG_BENCH_TEXT:
        (json ? img_json_string : img_csv_write_field)(f, (const char *)p);
        break;
    case IMG_BENCH_VERDICT:
        (json ? img_json_string : img_csv_write_field)(f, img_verdict_name(*(const img_verdict *)p));
        break;
    case IMG_BENCH_INT:
        fprintf(f, "%d", *(const int *)p);
        break;
    case IMG_BENCH_SIZE:
        fprintf(f, "%zu", *(const size_t *)p);
        break;
    case IMG_BENCH_DOUBLE:
        img_json_double(f, field->format, *(const double *)p);
        break;
    case IMG_BENCH_CUSTOM:
        break;
    }
}

static const char *field_name(img_bench_field_id id)
{
    return img_bench_fields[id].name;
}

int img_bench_write_csv(FILE *f, const img_bench_report *r)
{
    for (int c = 0; c < IMG_BENCH_PLAIN_FIELDS; c++)
        fprintf(f, "%s%s", c ? "," : "", img_bench_fields[c].name);
    for (int c = 0; c < IMG_BENCH_BREAKDOWN_COLUMNS; c++)
        fprintf(f, ",%s_s", img_bench_breakdown_columns[c]);
    for (int c = 0; c < IMG_BENCH_OVERLAP_COLUMNS; c++)
        fprintf(f, ",%s_s", img_bench_overlap_columns[c]);
    for (int s = 0; s < IMG_STAGE_COUNT; s++)
        fprintf(f, ",stage_%s_s", img_stage_name((img_stage)s));
    fprintf(f, ",%s,%s,%s,%s,%s\n", field_name(IMG_BF_CPUS_USED_PER_RUN),
            field_name(IMG_BF_CPUS_RAN_ON), field_name(IMG_BF_DISTURBED),
            field_name(IMG_BF_BREAKDOWN), field_name(IMG_BF_NOTE));
    for (int i = 0; i < r->row_count; i++) {
        const img_bench_row *row = &r->rows[i];
        for (int c = 0; c < IMG_BENCH_PLAIN_FIELDS; c++) {
            if (c)
                fputc(',', f);
            write_field(f, row, &img_bench_fields[c], false);
        }
        for (int c = 0; c < IMG_BENCH_BREAKDOWN_COLUMNS + IMG_BENCH_OVERLAP_COLUMNS; c++) {
            const char *name = c < IMG_BENCH_BREAKDOWN_COLUMNS
                                   ? img_bench_breakdown_columns[c]
                                   : img_bench_overlap_columns[c - IMG_BENCH_BREAKDOWN_COLUMNS];
            double v = img_breakdown_get(&row->breakdown, name);
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
            img_csv_write_field(f, row->cpus_ran_on);
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
        img_csv_write_field(f, parts);
        fputc(',', f);
        img_csv_write_field(f, row->note);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* One string member of the environment object (every member but the first). */
static void json_member(FILE *f, const char *key, const char *value)
{
    fprintf(f, ",\n    \"%s\": ", key);
    img_json_string(f, value);
}

static void json_env(FILE *f, const img_env *e)
{
    fprintf(f, "  \"environment\": {\n    \"cpu_model\": ");
    img_json_string(f, e->cpu_model);
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
    img_json_string(f, r->command_line);
    fprintf(f, ",\n  \"gpu_cpu_crossover\": ");
    img_json_string(f, r->crossover);
    /* Which trace files in the folder are this run's: an earlier run's are not. */
    fputs(",\n  \"trace_files\": [", f);
    for (int i = 0; i < r->trace_file_count; i++) {
        fputs(i ? ", " : "", f);
        img_json_string(f, r->trace_files[i]);
    }
    fputc(']', f);
    /* The compute roofs: one object per level and thread count. */
    fputs(",\n  \"compute_roofs\": [", f);
    for (int i = 0; i < r->roof_count; i++) {
        const img_compute_roof *roof = &r->roofs[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        img_json_key(f, "level");
        img_json_string(f, roof->level);
        fputs(", ", f);
        img_json_key(f, "instruction");
        img_json_string(f, roof->instruction);
        fprintf(f, ", ");
        img_json_key(f, "threads");
        fprintf(f, "%d, ", roof->threads);
        img_json_key(f, "madds_per_second");
        img_json_double(f, "%.6g", roof->madds_per_second);
        fputc('}', f);
    }
    fputs(r->roof_count ? "\n  ]" : "]", f);
    /* The device backend's bandwidths, for its transfer floor and kernel efficiency. */
    fputs(",\n  \"device_bandwidth\": ", f);
    if (r->device.bytes)
        fprintf(f,
                "{\"bytes\": %zu, \"device_copy_gb_per_s\": %.3f, \"upload_gb_per_s\": %.3f, "
                "\"download_gb_per_s\": %.3f}",
                r->device.bytes, r->device.device_copy_gbs, r->device.upload_gbs,
                r->device.download_gbs);
    else
        fputs("null", f);
    fprintf(f, ",\n  \"copy_bandwidth_gb_per_s\": %.3f,\n  \"reps_min\": %d,\n  \"warmup\": %d,\n"
               "  \"min_time_s\": %.3f,\n  \"rows\": [\n",
            r->copy_bandwidth_gbs, r->reps, r->warmup, r->min_time);
    for (int i = 0; i < r->row_count; i++) {
        const img_bench_row *row = &r->rows[i];
        /* The note, free text, follows the verdict it explains. */
        fputs("    {", f);
        for (int c = 0; c < IMG_BENCH_PLAIN_FIELDS; c++) {
            if (c)
                fputs(", ", f);
            img_json_key(f, img_bench_fields[c].name);
            write_field(f, row, &img_bench_fields[c], true);
            if (c == IMG_BF_VERDICT) {
                fputs(", ", f);
                img_json_key(f, field_name(IMG_BF_NOTE));
                img_json_string(f, row->note);
            }
        }
        fputs(", \"stages\": {", f);
        int shown = 0;
        for (int s = 0; s < IMG_STAGE_COUNT; s++) {
            if (row->stage_s[s] < 0)
                continue;
            img_json_next(f, &shown, ", ");
            img_json_key(f, img_stage_name((img_stage)s));
            img_json_double(f, "%.9f", row->stage_s[s]);
        }
        fputs("}, ", f);
        img_json_key(f, field_name(IMG_BF_CPUS_USED_PER_RUN));
        if (row->disturbed >= 0) {
            img_json_double(f, "%.2f", row->cpus_used);
            fputs(", ", f);
            img_json_key(f, field_name(IMG_BF_CPUS_POSSIBLE));
            fprintf(f, "%d, ", row->cpus_possible);
            img_json_key(f, field_name(IMG_BF_CPUS_RAN_ON));
            img_json_string(f, row->cpus_ran_on);
            fputs(", ", f);
            img_json_key(f, field_name(IMG_BF_DISTURBED));
            img_json_bool(f, row->disturbed);
        } else {
            img_json_null(f);
            fputs(", ", f);
            img_json_key(f, field_name(IMG_BF_CPUS_RAN_ON));
            img_json_null(f);
            fputs(", ", f);
            img_json_key(f, field_name(IMG_BF_DISTURBED));
            img_json_null(f);
        }
        fputs(", ", f);
        img_json_key(f, field_name(IMG_BF_BREAKDOWN));
        fputc('{', f);
        for (int p = 0; p < row->breakdown.count; p++) {
            fputs(p ? ", " : "", f);
            img_json_key(f, row->breakdown.part[p].name);
            img_json_double(f, "%.9f", row->breakdown.part[p].seconds);
        }
        fprintf(f, "}}%s\n", i + 1 < r->row_count ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return ferror(f) ? -1 : 0;
}

typedef struct text_file {
    int (*fn)(FILE *, const img_bench_report *);
    const img_bench_report *report;
} text_file;

static int write_text(FILE *f, void *ctx, img_error *err)
{
    const text_file *t = ctx;
    (void)err;   /* a bare failure is reported as "write failed" by the writer */
    return t->fn(f, t->report);
}

int img_write_text_file(const char *dir, const char *name,
                        int (*fn)(FILE *, const img_bench_report *),
                        const img_bench_report *report, img_error *err)
{
    char path[4096];
    if (img_make_dirs(dir, err) != 0)
        return -1;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return img_fail(err, "%s/%s: path too long", dir, name);
    text_file t = {fn, report};
    return img_write_atomic(path, write_text, &t, err);
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
