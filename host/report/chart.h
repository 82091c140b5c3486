/* Charts and the HTML report of a bench folder.
 *
 * The drawing is split in two so each half can be tested alone: C reads bench.csv,
 * bench.json and the trace files and writes plain whitespace-separated .dat files
 * (img_chart_prepare); the gnuplot scripts in results/gnuplot turn those into PNG and
 * SVG (img_chart_draw runs them). Then index.html shows the charts, the verdicts, the
 * full results table and the environment record. */
#ifndef IMG_REPORT_CHART_H
#define IMG_REPORT_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench.h"
#include "error.h"
#include "fsutil.h"

/* ---- CSV (RFC 4180: quoted fields may hold commas, doubled quotes, newlines) ---- */

typedef struct img_csv {
    char *text;              /* every decoded field, NUL-terminated, back to back */
    char **fields;           /* all fields of all records, in order */
    size_t *record_start;    /* record r owns fields[record_start[r] .. record_start[r+1]) */
    int records;             /* including the header */
} img_csv;

/* Parses len bytes. An unterminated quote or text after a closing quote is an error
 * naming the line. Blank lines are skipped. */
int img_csv_parse(const char *data, size_t len, img_csv *out, img_error *err);
int img_csv_field_count(const img_csv *csv, int record);
/* The field, or "" when the record is shorter. */
const char *img_csv_field(const img_csv *csv, int record, int field);
void img_csv_free(img_csv *csv);

/* Writes one CSV field, quoted (quotes doubled) when it holds a comma, a quote or a
 * newline: the one CSV writer of bench.csv and codecs.csv. */
void img_csv_write_field(FILE *f, const char *text);

/* ---- bench.csv as typed rows ---- */

/* The columns bench.csv has for them (the bench field table). */
enum { IMG_CHART_PARTS = IMG_BENCH_BREAKDOWN_COLUMNS, IMG_CHART_STAGES = IMG_STAGE_COUNT };

/* One bench.csv row. Strings point into the table's CSV; a number whose field is empty
 * (not applicable) is NAN. */
typedef struct img_chart_row {
    const char *backend, *setting, *simd, *cpus, *verdict, *note;
    int threads, width, height, channels, out_width, out_height, reps;
    double median_s, q1_s, q3_s, iqr_s;
    double mpix_per_s, gb_per_s, bandwidth_fraction, speedup;
    double cpu_per_wall, vcsw_per_run, ivcsw_per_run, init_s, cold_s;
    double madds_per_pixel;             /* the blur's multiply-adds per input pixel */
    double part_s[IMG_CHART_PARTS];     /* build, upload, kernel, download (OpenCL);
                                         * decode, pipeline, encode (whole-job rows) */
    double stage_s[IMG_CHART_STAGES];   /* brightness, contrast, blur, resize alone */
    double overlap_s[IMG_BENCH_OVERLAP_COLUMNS];   /* streamed, serialized, ideal (OpenCL) */
    double cpus_used;                   /* threads: distinct CPUs per run (median); NAN */
    const char *cpus_ran_on;            /* threads: CPUs its tasks ran on, "0-1"; or "" */
    int disturbed;                      /* 1: ran on fewer CPUs than it could; 0: no;
                                         * -1: not recorded */
    bool timed;                         /* bit-exact with a positive median */
    bool whole;                         /* a whole-job row (job "whole"): decode +
                                         * pipeline + encode; never on a pipeline chart.
                                         * Without the job column: false */
} img_chart_row;

typedef struct img_chart_table {
    img_csv csv;
    img_chart_row *rows;
    int row_count;
} img_chart_table;


/* Reads and types bench.csv; columns are found by header name, so added columns do
 * no harm, and a missing essential one is an error naming it. */
int img_chart_table_load(const char *csv_path, img_chart_table *table, img_error *err);
void img_chart_table_free(img_chart_table *table);

/* ---- bench.json: the flat environment object and the top-level numbers ---- */

#define IMG_CHART_ENV_MAX 48

typedef struct img_chart_kv {
    char key[64];
    char value[512];
} img_chart_kv;

typedef struct img_chart_env {
    img_chart_kv env[IMG_CHART_ENV_MAX];    /* "environment" entries in file order */
    int env_count;
    img_chart_kv run[IMG_CHART_ENV_MAX];    /* top-level scalars: command line, reps... */
    int run_count;
    double copy_bandwidth_gbs;              /* 0 when absent */
    /* "trace_files": the trace files the bench run wrote. When listed, only those
     * belong to the run; an older or hand-made bench.json does not list them. */
    bool trace_files_listed;
    int trace_file_count;
    char trace_files[4][64];
    /* "compute_roofs": each SIMD level's measured multiply-add peak. */
    struct {
        char level[24], instruction[48];
        int threads;
        double madds_per_second;
    } roofs[16];
    int roof_count;
} img_chart_env;

/* The measured roof of `level` on `threads` threads (on the most measured threads up
 * to that), or 0 when bench.json has none. */
double img_chart_env_roof(const img_chart_env *env, const char *level, int threads);

/* Parses bench.json. Only scalars are kept; "rows" and other nested values are skipped. */
int img_chart_env_load(const char *json_path, img_chart_env *env, img_error *err);
/* The value of an environment key, or "" when absent. */
const char *img_chart_env_get(const img_chart_env *env, const char *key);
/* Whether the trace file `name` in the folder is the bench run's own: true when
 * bench.json lists it, or lists none at all (no "trace_files" key: then whatever is in
 * the folder is used). env may be NULL (no bench.json). */
bool img_chart_env_has_trace(const img_chart_env *env, const char *name);

/* ---- Chrome Trace Event Format files written by the threads backend ---- */

typedef struct img_chart_task {
    char stage[48];          /* "cat" (falls back to "name") */
    int tid, cpu;            /* worker index; CPU it started on, -1 when unknown */
    int cpu_end;             /* CPU it ended on, -1 when unknown */
    double ts_us, dur_us;
} img_chart_task;

typedef struct img_chart_trace {
    img_chart_task *tasks;   /* the "ph":"X" events, in file order */
    size_t count;
} img_chart_trace;

/* Reads {"traceEvents": [...]} or a bare event array; keeps the complete ("X") events
 * and ignores metadata. Any JSON layout is accepted (one event per line or not). */
int img_chart_trace_load(const char *path, img_chart_trace *trace, img_error *err);
void img_chart_trace_free(img_chart_trace *trace);

/* ---- the charts ---- */

typedef enum img_chart_id {
    IMG_CHART_THROUGHPUT,
    IMG_CHART_SPEEDUP,
    IMG_CHART_THREADS_SCALING,
    IMG_CHART_SIMD_LEVELS,
    IMG_CHART_BREAKDOWN,
    IMG_CHART_TIMELINE,
    IMG_CHART_ROOFLINE,
    IMG_CHART_JOB,
    IMG_CHART_COUNT
} img_chart_id;

/* The file stem of a chart: script NAME.gp, data NAME*.dat, outputs NAME.png/.svg. */
const char *img_chart_name(img_chart_id id);
/* A one-line title for the report. */
const char *img_chart_title(img_chart_id id);

typedef struct img_chart_summary {
    int rows;                          /* rows in bench.csv */
    int timed_rows;                    /* of which bit-exact with timings */
    bool ready[IMG_CHART_COUNT];       /* its .dat files were written */
    char skipped[IMG_CHART_COUNT][512];   /* why not, when not drawn */
    char warning[IMG_CHART_COUNT][256];   /* what the chart must not be read as: a
                                           * disturbed "all cores" series, or "" */
    bool drawn[IMG_CHART_COUNT];       /* gnuplot produced its PNG and SVG */
    char caption[400];                 /* machine, cores and date for every chart */
} img_chart_summary;

/* Reads dir/bench.csv (required), dir/bench.json and dir/trace_{one,all}_core(s).json
 * (optional; only those bench.json lists when it lists them) and writes the .dat files
 * of every chart that has data into data_dir (created when missing). A chart without
 * data is not an error: out->skipped says why, and the true reason (a backend not run
 * is not "no bit-exact rows"). */
int img_chart_prepare(const char *dir, const char *data_dir, img_chart_summary *out,
                      img_error *err);

/* Where the gnuplot scripts are: $IMGPIPE_GNUPLOT_DIR, else the source tree's
 * results/gnuplot. */
const char *img_chart_script_dir(void);

/* True when `gnuplot --version` runs and exits 0. */
int img_gnuplot_available(void);

/* Prepares the data in dir/chart-data, runs every script that has data (gnuplot's
 * output goes to dir/chart-data/gnuplot.log), moves the PNG and SVG into dir and
 * writes dir/index.html. A failing script is an error naming it, after the other
 * charts and the page are still produced. summary may be NULL. */
int img_chart_draw_summary(const char *dir, img_chart_summary *summary, img_error *err);
int img_chart_draw(const char *dir, img_error *err);

/* Writes dir/index.html from the table, the environment and the charts summary->drawn
 * marks, each drawn chart's SVG inlined (the page is one file that can be sent alone;
 * the PNG and SVG files stay beside it). env may be NULL (no bench.json). */
int img_chart_write_html(const char *dir, const img_chart_table *table,
                         const img_chart_env *env, const img_chart_summary *summary,
                         img_error *err);

#endif
