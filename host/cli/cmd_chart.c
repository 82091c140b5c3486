/* `imgpipe chart DIR`: redraws the charts and the HTML report of a bench folder; and
 * the same step at the end of `imgpipe bench`, where a missing gnuplot is only a note. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "chart.h"

/* Charts without data are skipped with the reason; failed ones other than the
 * error about to be printed are listed too. */
static void print_skipped(const img_chart_summary *s, const img_error *err)
{
    for (int id = 0; id < IMG_CHART_COUNT; id++) {
        const char *name = img_chart_name((img_chart_id)id);
        if (s->skipped[id][0] == '\0')
            continue;   /* not prepared: the inputs did not load */
        if (!s->ready[id])
            printf("chart %s skipped: %s\n", name, s->skipped[id]);
        else if (!s->drawn[id] && strcmp(s->skipped[id], err->message) != 0)
            fprintf(stderr, "imgpipe: chart %s failed: %s\n", name, s->skipped[id]);
    }
    /* A chart that must not be read as what it usually shows (a disturbed all-cores
     * series) says so here too, not only on the page. */
    for (int id = 0; id < IMG_CHART_COUNT; id++)
        if (s->ready[id] && s->warning[id][0])
            printf("chart %s: %s\n", img_chart_name((img_chart_id)id), s->warning[id]);
}

int img_cmd_chart(const img_cli *cli)
{
    const char *dir = cli->chart_dir;
    char csv[4096];
    struct stat st;
    snprintf(csv, sizeof csv, "%s/bench.csv", dir);
    /* The data is checked first: without it gnuplot would not help. */
    if (stat(csv, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "imgpipe: %s: no such file (run imgpipe bench --out %s first)\n", csv, dir);
        return IMG_EXIT_FAILURE;
    }
    if (!img_gnuplot_available()) {
        fprintf(stderr, "imgpipe: gnuplot not found: install gnuplot-nox to draw charts\n");
        return IMG_EXIT_FAILURE;
    }
    img_chart_summary summary;
    img_error err = {{0}};
    int rc = img_chart_draw_summary(dir, &summary, &err);
    print_skipped(&summary, &err);
    if (rc != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        return IMG_EXIT_FAILURE;
    }
    int drawn = 0;
    for (int id = 0; id < IMG_CHART_COUNT; id++)
        drawn += summary.drawn[id];
    printf("%d chart%s drawn; report: %s/index.html\n", drawn, drawn == 1 ? "" : "s", dir);
    return IMG_EXIT_OK;
}

void img_chart_after_bench(const char *dir)
{
    if (!img_gnuplot_available()) {
        printf("gnuplot not found: charts skipped (install gnuplot-nox)\n");
        return;
    }
    img_chart_summary summary;
    img_error err = {{0}};
    int rc = img_chart_draw_summary(dir, &summary, &err);
    print_skipped(&summary, &err);
    /* The measurements are written and valid either way: a chart failure is reported
     * but does not change bench's exit status. */
    if (rc != 0)
        fprintf(stderr, "imgpipe: charts: %s\n", err.message);
    else
        printf("charts: %s/index.html\n", dir);
}
