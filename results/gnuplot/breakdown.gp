# breakdown.png / .svg: where the time of one run goes, at the largest input size,
# for the fastest setting of each backend that has its parts timed (the threads
# scaling series is not timed stage by stage, so its rows never stand in). CPU
# backends: each stage timed alone (brightness, contrast, blur, resize); OpenCL:
# upload, kernel and download of a warm run, stacked: what the run would cost with
# nothing overlapped. The triangle is the whole pipeline's median: below the stack when
# fusing the stages (or overlapping a streamed device run's transfers with its
# kernels) pays, above it when there is overhead the parts do not show. The cross is a
# streamed device run's ideal, its busiest engine alone: the best overlap can do. The
# one-off OpenCL program build (cold) gets its own panel and scale on the right.
# Data: breakdown.dat: a header line, then label, the whole pipeline's median, the
# ideal (NaN but for streamed device runs) and the milliseconds of each part some
# backend reported (NaN: not applicable).
# breakdown_parts.dat: per part column, in order: name, linetype (stable colours).
# breakdown_build.dat: label, build ms. breakdown_info.dat: the subtitle and the
# number of rows with a build time.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/breakdown.dat"
build = datadir . "/breakdown_build.dat"
eval read_info(datadir . "/breakdown_info.dat")
subtitle = info_text[1]
builds = info_value[1]
array part_lt[16]
stats datadir . "/breakdown_parts.dat" using (part_lt[int($0) + 1] = column(2), 0) nooutput
stats data using 0 nooutput
groups = STATS_max
stats data using (strlen(strcol(1))) nooutput
longest = STATS_max
stats data using 2 nooutput
columns = STATS_columns
top = STATS_max
# The stack may be taller than the whole (stages alone do more work than fused).
stats data using (sum [k = 4:columns] (valid(k) ? column(k) : 0)) nooutput
top = (STATS_max > top ? STATS_max : top)

# stats honours the current ranges: read everything before the panels set theirs.
if (builds > 0) { stats build using 2 nooutput; build_rows = STATS_records; build_top = STATS_max }
split = (builds > 0 ? 0.76 : 0.97)

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("breakdown", fmt)
    set multiplot title "Where the time goes " . subtitle font ",15"

    set lmargin at screen 0.09
    set rmargin at screen split
    set tmargin at screen 0.82
    set style data histograms
    set style histogram rowstacked
    set boxwidth 0.6 relative
    set xrange [-0.6 : groups - 0.4]
    set yrange [0 : top * 1.1]
    set ylabel "milliseconds per run"
    mode = label_mode(groups, longest, (split - 0.09) * 1000)
    eval label_tics_cmd(mode)
    eval category_axis_cmd(mode, longest, "backend (fastest setting with a breakdown)")
    # The parts in a strip of their own under the title, clear of the bars.
    set key at screen 0.5, screen 0.94 center top vertical maxrows 3 reverse Left width -3 samplen 1.2 spacing 0.9
    plot for [c = 4:columns] data using c:xtic(group_label(strcol(1), mode)) \
             title columnheader(c) lt part_lt[c - 3], \
         data using 0:2 with points pt 9 ps 2.2 lc rgb "#111111" title columnheader(2), \
         data using 0:3 with points pt 2 ps 2.2 lw 2 lc rgb "#d62728" title columnheader(3)
    unset label 1000
    unset label 1001

    if (builds > 0) {
        set lmargin at screen split + 0.085
        set rmargin at screen 0.98
        set boxwidth 0.55 absolute
        set style fill solid 0.88 border lc rgb "#303030"
        set xrange [-0.7 : build_rows - 0.3]
        set yrange [0 : build_top * 1.2]
        set ylabel "milliseconds, once"
        set xlabel "cold build"
        set xtics norotate center
        unset key
        plot build using 0:2:xtic(group_label(strcol(1), 0)) with boxes lc rgb "#8c564b", \
             build using 0:2:(sprintf("%.0f ms", $2)) with labels offset 0, 0.7 font ",11" notitle
    }
    unset multiplot
    unset output
    eval caption_cmd
}
