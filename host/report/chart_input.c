/* What the charts read: bench.csv (a real CSV parser: notes are free text and get
 * quoted), the flat parts of bench.json, and the threads backend's trace files; and
 * the atomic writer every output goes through. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "chart.h"
#include "fsutil.h"

/* Inputs are small text files; the cap only stops a wrong path (a device, a huge
 * file) from eating memory. */
#define MAX_INPUT_BYTES ((size_t)512 << 20)

/* The whole file, NUL-terminated, so parsers may use strtod safely at any point. */
static int read_whole_file(const char *path, char **out, size_t *len, img_error *err)
{
    uint8_t *data = NULL;
    int rc = img_read_whole_file(path, MAX_INPUT_BYTES, &data, len, err);
    *out = (char *)data;
    return rc;
}

/* ---- CSV ---- */

static int push_size(size_t **arr, size_t *count, size_t *cap, size_t value)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        size_t *n = realloc(*arr, ncap * sizeof *n);
        if (!n)
            return -1;
        *arr = n;
        *cap = ncap;
    }
    (*arr)[(*count)++] = value;
    return 0;
}

int img_csv_parse(const char *data, size_t len, img_csv *out, img_error *err)
{
    memset(out, 0, sizeof *out);
    /* Decoded text is never longer than the input plus one NUL per field, and there
     * are at most len + 1 fields. */
    char *text = malloc(2 * len + 2);
    size_t *offsets = NULL, nfields = 0, cap_fields = 0;
    size_t *starts = NULL, nrecords = 0, cap_records = 0;
    if (!text)
        return img_fail(err, "CSV: out of memory");
    size_t w = 0, pos = 0;
    int line = 1;
    while (pos < len) {
        if (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n')) {
            pos += data[pos] == '\r' ? 2 : 1;   /* blank line */
            line++;
            continue;
        }
        if (push_size(&starts, &nrecords, &cap_records, nfields) != 0)
            goto oom;
        for (;;) {
            if (push_size(&offsets, &nfields, &cap_fields, w) != 0)
                goto oom;
            if (pos < len && data[pos] == '"') {
                int open_line = line;
                pos++;
                for (;;) {
                    if (pos >= len) {
                        img_fail(err, "CSV line %d: quoted field never closed", open_line);
                        goto fail;
                    }
                    if (data[pos] == '"') {
                        if (pos + 1 < len && data[pos + 1] == '"') {
                            text[w++] = '"';
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    line += data[pos] == '\n';
                    text[w++] = data[pos++];
                }
                if (pos < len && data[pos] != ',' && data[pos] != '\n' &&
                    !(data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n')) {
                    img_fail(err, "CSV line %d: text after a closing quote", line);
                    goto fail;
                }
            } else {
                while (pos < len && data[pos] != ',' && data[pos] != '\n' &&
                       !(data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n'))
                    text[w++] = data[pos++];
            }
            text[w++] = '\0';
            if (pos < len && data[pos] == ',') {
                pos++;
                continue;
            }
            if (pos < len)
                pos += data[pos] == '\r' ? 2 : 1;
            line++;
            break;
        }
    }
    if (push_size(&starts, &nrecords, &cap_records, nfields) != 0)
        goto oom;
    out->fields = malloc((nfields ? nfields : 1) * sizeof *out->fields);
    if (!out->fields)
        goto oom;
    for (size_t i = 0; i < nfields; i++)
        out->fields[i] = text + offsets[i];
    free(offsets);
    out->text = text;
    out->record_start = starts;
    out->records = (int)nrecords - 1;
    return 0;
oom:
    img_fail(err, "CSV: out of memory");
fail:
    free(text);
    free(offsets);
    free(starts);
    free(out->fields);
    memset(out, 0, sizeof *out);
    return -1;
}

int img_csv_field_count(const img_csv *csv, int record)
{
    if (record < 0 || record >= csv->records)
        return 0;
    return (int)(csv->record_start[record + 1] - csv->record_start[record]);
}

const char *img_csv_field(const img_csv *csv, int record, int field)
{
    if (field < 0 || field >= img_csv_field_count(csv, record))
        return "";
    return csv->fields[csv->record_start[record] + (size_t)field];
}

void img_csv_free(img_csv *csv)
{
    free(csv->text);
    free(csv->fields);
    free(csv->record_start);
    memset(csv, 0, sizeof *csv);
}

/* ---- bench.csv rows ---- */

typedef struct columns {
    const img_csv *csv;
    const char *path;
} columns;

static int column_index(const img_csv *csv, const char *name)
{
    for (int i = 0; i < img_csv_field_count(csv, 0); i++)
        if (strcmp(img_csv_field(csv, 0, i), name) == 0)
            return i;
    return -1;
}

/* An empty field (or a missing column) is "not applicable": NAN. */
static int number_at(const columns *c, int record, int col, const char *name, double *out,
                     img_error *err)
{
    const char *s = col >= 0 ? img_csv_field(c->csv, record, col) : "";
    *out = NAN;
    if (*s == '\0')
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE)
        return img_fail(err, "%s: row %d: %s is not a number: '%.40s'", c->path, record, name, s);
    *out = v;
    return 0;
}

static int int_at(const columns *c, int record, int col, const char *name, int *out,
                  img_error *err)
{
    double v;
    if (number_at(c, record, col, name, &v, err) != 0)
        return -1;
    if (!isnan(v) && (v < INT32_MIN || v > INT32_MAX || v != floor(v)))
        return img_fail(err, "%s: row %d: %s is not a whole number", c->path, record, name);
    *out = isnan(v) ? 0 : (int)v;
    return 0;
}

int img_chart_table_load(const char *csv_path, img_chart_table *table, img_error *err)
{
    memset(table, 0, sizeof *table);
    char *data;
    size_t len;
    if (read_whole_file(csv_path, &data, &len, err) != 0)
        return -1;
    int rc = img_csv_parse(data, len, &table->csv, err);
    free(data);
    if (rc != 0) {
        /* Name the file: the parser only knows the line. */
        img_error inner = *err;
        return img_fail(err, "%s: %s", csv_path, inner.message);
    }
    const img_csv *csv = &table->csv;
    if (csv->records < 1) {
        img_chart_table_free(table);
        return img_fail(err, "%s: empty (no header)", csv_path);
    }
    static const img_bench_field_id required[] = {IMG_BF_BACKEND, IMG_BF_SETTING,
                                                  IMG_BF_VERDICT, IMG_BF_WIDTH, IMG_BF_HEIGHT};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (column_index(csv, img_bench_fields[required[i]].name) < 0) {
            img_chart_table_free(table);
            return img_fail(err, "%s: no '%s' column in the header", csv_path,
                            img_bench_fields[required[i]].name);
        }
    table->rows = calloc((size_t)csv->records, sizeof *table->rows);
    if (!table->rows) {
        img_chart_table_free(table);
        return img_fail(err, "%s: out of memory", csv_path);
    }
    columns c = {csv, csv_path};
    /* Column names come from bench.csv's writer's table (bench.h); the part and stage
     * columns are named after their lists. */
#define COLUMN(id) column_index(csv, img_bench_fields[id].name)
#define TEXT(field, id) row->field = img_csv_field(csv, r, COLUMN(id))
#define NUM_NAMED(field, name)                                                        \
    if (number_at(&c, r, column_index(csv, name), name, &row->field, err) != 0) \
        goto fail
#define NUM(field, id) NUM_NAMED(field, img_bench_fields[id].name)
#define INT(field, id)                                                                      \
    if (int_at(&c, r, COLUMN(id), img_bench_fields[id].name, &row->field, err) != 0) \
        goto fail
    for (int r = 1; r < csv->records; r++) {
        img_chart_row *row = &table->rows[table->row_count++];
        TEXT(backend, IMG_BF_BACKEND);
        TEXT(setting, IMG_BF_SETTING);
        TEXT(simd, IMG_BF_SIMD);
        TEXT(cpus, IMG_BF_CPUS);
        TEXT(verdict, IMG_BF_VERDICT);
        TEXT(note, IMG_BF_NOTE);
        INT(threads, IMG_BF_THREADS);
        INT(width, IMG_BF_WIDTH);
        INT(height, IMG_BF_HEIGHT);
        INT(channels, IMG_BF_CHANNELS);
        INT(out_width, IMG_BF_OUT_WIDTH);
        INT(out_height, IMG_BF_OUT_HEIGHT);
        INT(reps, IMG_BF_REPS);
        NUM(median_s, IMG_BF_MEDIAN_S);
        NUM(q1_s, IMG_BF_Q1_S);
        NUM(q3_s, IMG_BF_Q3_S);
        NUM(iqr_s, IMG_BF_IQR_S);
        NUM(mpix_per_s, IMG_BF_MPIX_PER_S);
        NUM(gb_per_s, IMG_BF_GB_PER_S);
        NUM(bandwidth_fraction, IMG_BF_BANDWIDTH_FRACTION);
        NUM(speedup, IMG_BF_SPEEDUP_VS_SERIAL);
        NUM(cpu_per_wall, IMG_BF_CPU_PER_WALL);
        NUM(vcsw_per_run, IMG_BF_VCSW_PER_RUN);
        NUM(ivcsw_per_run, IMG_BF_IVCSW_PER_RUN);
        NUM(init_s, IMG_BF_INIT_S);
        NUM(cold_s, IMG_BF_COLD_S);
        NUM(madds_per_pixel, IMG_BF_MADDS_PER_PIXEL);
        for (int p = 0; p < IMG_CHART_PARTS; p++) {
            char name[32];
            snprintf(name, sizeof name, "%s_s", img_bench_breakdown_columns[p]);
            NUM_NAMED(part_s[p], name);
        }
        for (int o = 0; o < IMG_BENCH_OVERLAP_COLUMNS; o++) {
            char name[32];
            snprintf(name, sizeof name, "%s_s", img_bench_overlap_columns[o]);
            NUM_NAMED(overlap_s[o], name);
        }
        for (int s = 0; s < IMG_CHART_STAGES; s++) {
            char name[32];
            snprintf(name, sizeof name, "stage_%s_s", img_stage_name((img_stage)s));
            NUM_NAMED(stage_s[s], name);
        }
        NUM(cpus_used, IMG_BF_CPUS_USED_PER_RUN);
        TEXT(cpus_ran_on, IMG_BF_CPUS_RAN_ON);
        double disturbed;
        if (number_at(&c, r, column_index(csv, img_bench_fields[IMG_BF_DISTURBED].name),
                      img_bench_fields[IMG_BF_DISTURBED].name, &disturbed, err) != 0)
            goto fail;
        row->disturbed = isnan(disturbed) ? -1 : disturbed != 0;
        /* Older bench.csv files have no job column: all their rows time the pipeline. */
        row->whole = strcmp(img_csv_field(csv, r, COLUMN(IMG_BF_JOB)), IMG_BENCH_JOB_WHOLE) == 0;
        row->timed = img_verdict_from_name(row->verdict) == IMG_VERDICT_BIT_EXACT &&
                     isfinite(row->median_s) &&
                     row->median_s > 0;
    }
#undef COLUMN
#undef TEXT
#undef NUM_NAMED
#undef NUM
#undef INT
    return 0;
fail:
    img_chart_table_free(table);
    return -1;
}

void img_chart_table_free(img_chart_table *table)
{
    img_csv_free(&table->csv);
    free(table->rows);
    memset(table, 0, sizeof *table);
}

/* ---- a small JSON reader: enough for bench.json's scalars and trace events ---- */

typedef struct json {
    const char *start, *p;   /* the text is NUL-terminated */
    const char *path;
    img_error *err;
} json;

static int json_fail(json *j, const char *what)
{
    int line = 1;
    for (const char *q = j->start; q < j->p; q++)
        line += *q == '\n';
    return img_fail(j->err, "%s: line %d: %s", j->path, line, what);
}

static char json_peek(json *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
    return *j->p;
}

static int json_expect(json *j, char c)
{
    if (json_peek(j) != c) {
        char what[40];
        snprintf(what, sizeof what, "expected '%c'", c);
        return json_fail(j, what);
    }
    j->p++;
    return 0;
}

static void put_utf8(char *buf, size_t len, size_t *w, unsigned cp)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xC0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        tmp[0] = (char)(0xE0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    /* Truncation keeps whole characters only. */
    if (*w + n < len) {
        memcpy(buf + *w, tmp, n);
        *w += n;
    }
}

/* A string value, decoded into buf (truncated to fit; buf may be NULL to skip). */
static int json_string(json *j, char *buf, size_t len)
{
    if (json_peek(j) != '"')
        return json_fail(j, "expected a string");
    j->p++;
    size_t w = 0;
    for (;;) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '\0')
            return json_fail(j, "string never closed");
        j->p++;
        if (c == '"')
            break;
        unsigned cp = c;
        if (c == '\\') {
            char e = *j->p++;
            switch (e) {
            case 'n': cp = '\n'; break;
            case 't': cp = '\t'; break;
            case 'r': cp = '\r'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case '"': case '\\': case '/': cp = (unsigned char)e; break;
            case 'u': {
                char hex[5] = {0};
                for (int i = 0; i < 4; i++) {
                    if (j->p[i] == '\0' || !strchr("0123456789abcdefABCDEF", j->p[i]))
                        return json_fail(j, "bad \\u escape");
                    hex[i] = j->p[i];
                }
                j->p += 4;
                cp = (unsigned)strtoul(hex, NULL, 16);
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = '?';   /* surrogate pairs never occur in our files */
                break;
            }
            default: return json_fail(j, "bad escape in a string");
            }
        }
        if (!buf)
            continue;
        if (c == '\\')
            put_utf8(buf, len, &w, cp);
        else if (w + 1 < len)
            buf[w++] = (char)c;   /* raw UTF-8 passes through byte by byte */
    }
    if (buf && len)
        buf[w < len ? w : len - 1] = '\0';
    return 0;
}

static int json_number(json *j, double *out)
{
    json_peek(j);
    char *end;
    double v = strtod(j->p, &end);
    if (end == j->p)
        return json_fail(j, "expected a number");
    j->p = end;
    *out = v;
    return 0;
}

static int json_skip(json *j, int depth);

/* Iterates the members of an object whose '{' is next: calls member(key) with the
 * parser on the value, which must consume it. */
typedef int (*json_member_fn)(json *j, const char *key, void *ctx);

static int json_object(json *j, json_member_fn member, void *ctx, int depth)
{
    if (depth > 64)
        return json_fail(j, "nested too deeply");
    if (json_expect(j, '{') != 0)
        return -1;
    if (json_peek(j) == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        char key[64];
        if (json_string(j, key, sizeof key) != 0 || json_expect(j, ':') != 0)
            return -1;
        if ((member ? member(j, key, ctx) : json_skip(j, depth + 1)) != 0)
            return -1;
        char c = json_peek(j);
        j->p++;
        if (c == '}')
            return 0;
        if (c != ',') {
            j->p--;
            return json_fail(j, "expected ',' or '}'");
        }
    }
}

/* An array at j->p: element(j, ctx) reads each value, or it is skipped when NULL. */
typedef int json_element_fn(json *j, void *ctx);

static int json_array(json *j, json_element_fn *element, void *ctx, int depth)
{
    j->p++;   /* '[' */
    if (json_peek(j) == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if ((element ? element(j, ctx) : json_skip(j, depth + 1)) != 0)
            return -1;
        char c = json_peek(j);
        j->p++;
        if (c == ']')
            return 0;
        if (c != ',') {
            j->p--;
            return json_fail(j, "expected ',' or ']'");
        }
    }
}

static int json_skip(json *j, int depth)
{
    if (depth > 64)
        return json_fail(j, "nested too deeply");
    char c = json_peek(j);
    if (c == '{')
        return json_object(j, NULL, NULL, depth + 1);
    if (c == '[')
        return json_array(j, NULL, NULL, depth);
    if (c == '"')
        return json_string(j, NULL, 0);
    static const char *const literals[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++)
        if (strncmp(j->p, literals[i], strlen(literals[i])) == 0) {
            j->p += strlen(literals[i]);
            return 0;
        }
    double ignored = 0.0;
    return json_number(j, &ignored);
}

/* A scalar as text: strings decoded, numbers and literals as written; *was_scalar
 * is false (and the value skipped) for objects and arrays. */
static int json_scalar_text(json *j, char *buf, size_t len, bool *was_scalar, int depth)
{
    char c = json_peek(j);
    *was_scalar = c != '{' && c != '[';
    if (!*was_scalar)
        return json_skip(j, depth);
    if (c == '"')
        return json_string(j, buf, len);
    const char *from = j->p;
    if (json_skip(j, depth) != 0)
        return -1;
    snprintf(buf, len, "%.*s", (int)(j->p - from), from);
    return 0;
}

/* ---- bench.json ---- */

static int env_member(json *j, const char *key, void *ctx)
{
    img_chart_env *env = ctx;
    img_chart_kv kv;
    bool scalar;
    if (json_scalar_text(j, kv.value, sizeof kv.value, &scalar, 2) != 0)
        return -1;
    if (scalar && env->env_count < IMG_CHART_ENV_MAX) {
        snprintf(kv.key, sizeof kv.key, "%s", key);
        env->env[env->env_count++] = kv;
    }
    return 0;
}

/* One name of "trace_files": ["trace_one_core.json", ...] */
static int trace_file_element(json *j, void *ctx)
{
    img_chart_env *env = ctx;
    char name[64];
    if (json_string(j, name, sizeof name) != 0)
        return -1;
    if (env->trace_file_count < 4)
        snprintf(env->trace_files[env->trace_file_count++], sizeof env->trace_files[0], "%s",
                 name);
    return 0;
}

/* One member of a "compute_roofs" element; others are skipped. */
static int roof_member(json *j, const char *key, void *ctx)
{
    img_chart_env *env = ctx;
    int i = env->roof_count;
    if (strcmp(key, "level") == 0 && json_peek(j) == '"')
        return json_string(j, env->roofs[i].level, sizeof env->roofs[i].level);
    if (strcmp(key, "instruction") == 0 && json_peek(j) == '"')
        return json_string(j, env->roofs[i].instruction, sizeof env->roofs[i].instruction);
    if ((strcmp(key, "threads") == 0 || strcmp(key, "madds_per_second") == 0) &&
        json_peek(j) != '"' && json_peek(j) != '{' && json_peek(j) != '[') {
        double v = 0.0;
        if (json_number(j, &v) != 0)
            return -1;
        if (key[0] == 't')
            env->roofs[i].threads = v >= 1 && v < 1e6 ? (int)v : 0;
        else
            env->roofs[i].madds_per_second = isfinite(v) && v > 0 ? v : 0.0;
        return 0;
    }
    return json_skip(j, 3);
}

static int roof_element(json *j, void *ctx)
{
    img_chart_env *env = ctx;
    const int max = (int)(sizeof env->roofs / sizeof env->roofs[0]);
    if (json_peek(j) != '{' || env->roof_count == max)
        return json_skip(j, 2);
    memset(&env->roofs[env->roof_count], 0, sizeof env->roofs[0]);
    if (json_object(j, roof_member, env, 2) != 0)
        return -1;
    if (env->roofs[env->roof_count].level[0] && env->roofs[env->roof_count].threads > 0 &&
        env->roofs[env->roof_count].madds_per_second > 0)
        env->roof_count++;
    return 0;
}

double img_chart_env_roof(const img_chart_env *env, const char *level, int threads)
{
    /* The roof measured on the most threads that do not exceed `threads`: more threads
     * than cores interleave and add no multiply-adds. */
    int best = -1;
    for (int i = 0; env && i < env->roof_count; i++)
        if (strcmp(env->roofs[i].level, level) == 0 && env->roofs[i].threads <= threads &&
            (best < 0 || env->roofs[i].threads > env->roofs[best].threads))
            best = i;
    return best >= 0 ? env->roofs[best].madds_per_second : 0.0;
}

static int top_member(json *j, const char *key, void *ctx)
{
    img_chart_env *env = ctx;
    if (strcmp(key, "compute_roofs") == 0 && json_peek(j) == '[')
        return json_array(j, roof_element, env, 1);
    if (strcmp(key, "environment") == 0 && json_peek(j) == '{')
        return json_object(j, env_member, env, 1);
    if (strcmp(key, "trace_files") == 0 && json_peek(j) == '[') {
        env->trace_files_listed = true;
        return json_array(j, trace_file_element, env, 1);
    }
    img_chart_kv kv;
    bool scalar;
    if (json_scalar_text(j, kv.value, sizeof kv.value, &scalar, 1) != 0)
        return -1;
    if (!scalar)
        return 0;
    if (strcmp(key, "copy_bandwidth_gb_per_s") == 0)
        env->copy_bandwidth_gbs = strtod(kv.value, NULL);
    if (env->run_count < IMG_CHART_ENV_MAX) {
        snprintf(kv.key, sizeof kv.key, "%s", key);
        env->run[env->run_count++] = kv;
    }
    return 0;
}

int img_chart_env_load(const char *json_path, img_chart_env *env, img_error *err)
{
    memset(env, 0, sizeof *env);
    char *text;
    size_t len;
    if (read_whole_file(json_path, &text, &len, err) != 0)
        return -1;
    json j = {text, text, json_path, err};
    int rc = json_object(&j, top_member, env, 0);
    free(text);
    return rc;
}

const char *img_chart_env_get(const img_chart_env *env, const char *key)
{
    for (int i = 0; env && i < env->env_count; i++)
        if (strcmp(env->env[i].key, key) == 0)
            return env->env[i].value;
    return "";
}

bool img_chart_env_has_trace(const img_chart_env *env, const char *name)
{
    if (!env || !env->trace_files_listed)
        return true;
    for (int i = 0; i < env->trace_file_count; i++)
        if (strcmp(env->trace_files[i], name) == 0)
            return true;
    return false;
}

/* ---- traces ---- */

typedef struct trace_ctx {
    img_chart_trace *trace;
    size_t cap;
    /* the event being read */
    img_chart_task task;
    char ph[8], name[48];
    bool has_ts, has_dur, has_cat;
} trace_ctx;

static int args_member(json *j, const char *key, void *ctx)
{
    trace_ctx *t = ctx;
    if (strcmp(key, "cpu") == 0 && json_peek(j) != '"' && json_peek(j) != '{' &&
        json_peek(j) != '[') {
        double v = 0.0;
        if (json_number(j, &v) != 0)
            return -1;
        t->task.cpu = v >= 0 && v < 1e6 ? (int)v : -1;
        return 0;
    }
    if (strcmp(key, "cpu_end") == 0 && json_peek(j) != '"' && json_peek(j) != '{' &&
        json_peek(j) != '[') {
        double v = 0.0;
        if (json_number(j, &v) != 0)
            return -1;
        t->task.cpu_end = v >= 0 && v < 1e6 ? (int)v : -1;
        return 0;
    }
    return json_skip(j, 4);
}

static int event_member(json *j, const char *key, void *ctx)
{
    trace_ctx *t = ctx;
    char c = json_peek(j);
    if (c == '"') {
        if (strcmp(key, "ph") == 0)
            return json_string(j, t->ph, sizeof t->ph);
        if (strcmp(key, "cat") == 0) {
            t->has_cat = true;
            return json_string(j, t->task.stage, sizeof t->task.stage);
        }
        if (strcmp(key, "name") == 0)
            return json_string(j, t->name, sizeof t->name);
    } else if (c == '{' && strcmp(key, "args") == 0) {
        return json_object(j, args_member, t, 3);
    } else if (c != '{' && c != '[' && c != 't' && c != 'f' && c != 'n') {
        double v = 0.0;
        if (strcmp(key, "ts") == 0 || strcmp(key, "dur") == 0 || strcmp(key, "tid") == 0) {
            if (json_number(j, &v) != 0)
                return -1;
            if (key[0] == 't' && key[1] == 's') {
                t->task.ts_us = v;
                t->has_ts = true;
            } else if (key[0] == 'd') {
                t->task.dur_us = v;
                t->has_dur = true;
            } else if (v >= 0 && v < 1e6) {
                t->task.tid = (int)v;   /* out of range: left at 0 rather than overflow */
            }
            return 0;
        }
    }
    return json_skip(j, 3);
}

static int read_events(json *j, trace_ctx *t)
{
    if (json_expect(j, '[') != 0)
        return -1;
    if (json_peek(j) == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (json_peek(j) != '{') {
            if (json_skip(j, 2) != 0)
                return -1;
        } else {
            memset(&t->task, 0, sizeof t->task);
            t->task.cpu = t->task.cpu_end = -1;
            t->ph[0] = t->name[0] = '\0';
            t->has_ts = t->has_dur = t->has_cat = false;
            if (json_object(j, event_member, t, 2) != 0)
                return -1;
            if (strcmp(t->ph, "X") == 0 && t->has_ts && t->has_dur && t->task.dur_us >= 0) {
                if (!t->has_cat)
                    snprintf(t->task.stage, sizeof t->task.stage, "%s", t->name);
                if (t->trace->count == t->cap) {
                    size_t ncap = t->cap ? t->cap * 2 : 256;
                    img_chart_task *n = realloc(t->trace->tasks, ncap * sizeof *n);
                    if (!n)
                        return json_fail(j, "out of memory for trace events");
                    t->trace->tasks = n;
                    t->cap = ncap;
                }
                t->trace->tasks[t->trace->count++] = t->task;
            }
        }
        char c = json_peek(j);
        j->p++;
        if (c == ']')
            return 0;
        if (c != ',') {
            j->p--;
            return json_fail(j, "expected ',' or ']' between events");
        }
    }
}

static int trace_top_member(json *j, const char *key, void *ctx)
{
    if (strcmp(key, "traceEvents") == 0 && json_peek(j) == '[')
        return read_events(j, ctx);
    return json_skip(j, 1);
}

int img_chart_trace_load(const char *path, img_chart_trace *trace, img_error *err)
{
    memset(trace, 0, sizeof *trace);
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len, err) != 0)
        return -1;
    json j = {text, text, path, err};
    trace_ctx t = {.trace = trace};
    int rc = json_peek(&j) == '[' ? read_events(&j, &t) : json_object(&j, trace_top_member, &t, 0);
    free(text);
    if (rc != 0)
        img_chart_trace_free(trace);
    return rc;
}

void img_chart_trace_free(img_chart_trace *trace)
{
    free(trace->tasks);
    memset(trace, 0, sizeof *trace);
}

