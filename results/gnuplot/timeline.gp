# timeline.png / .svg: what the threads backend's workers did during one run, from its
# trace files: one row per worker, one bar per task coloured by stage. Upper panel
# pinned to one core (the tasks take turns: interleaved), lower panel on all cores
# (they overlap: parallel). Both panels share the time axis, in milliseconds from the
# first task of each run.
# Data: timeline_one.dat and timeline_all.dat, one block per stage (same order in both):
# a header line with the stage, then start ms, end ms, worker, cpu.
# timeline_info.dat: per panel, a title and the number of workers.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

one = datadir . "/timeline_one.dat"
all = datadir . "/timeline_all.dat"
array panel_title[2]
array panel_workers[2]
stats datadir . "/timeline_info.dat" using \
    (panel_title[int($0) + 1] = strcol(1), panel_workers[int($0) + 1] = column(2), 0) nooutput
stats one using 2 nooutput
stages = STATS_blocks
end_ms = STATS_max
stats all using 2 nooutput
end_ms = (STATS_max > end_ms ? STATS_max : end_ms)

# Bars 0.76 of a row high, so neighbouring workers stay apart.
half = 0.38
set xrange [0 : end_ms * 1.02]
# Hairline edges keep neighbouring tasks apart without turning short ones black.
set style fill solid 0.92 border lc rgb "#1a1a1a"
set grid xtics ytics
set ytics 1 nomirror
set format y "worker %.0f"
set mytics 1

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("timeline", fmt)
    set multiplot title "Threads backend: task timeline of one run" font ",15"
    set lmargin at screen 0.12
    set rmargin at screen 0.98

    do for [p = 1:2] {
        file = (p == 1 ? one : all)
        workers = panel_workers[p]
        # Worker 0 at the top, like a trace viewer.
        set yrange [workers - 0.5 : -0.5]
        tic_font = (workers > 12 ? ",8" : ",11")
        set ytics 1 font tic_font
        set title panel_title[p] font ",12"
        if (p == 1) {
            set tmargin at screen 0.81
            set bmargin at screen 0.545
            set format x ""
            unset xlabel
            # The stages, once, in a row between the chart title and the panels.
            set key at screen 0.55, screen 0.935 center top horizontal samplen 1.5 reverse Left
        } else {
            set tmargin at screen 0.435
            set bmargin at screen 0.165
            set format x "%g"
            set xlabel "milliseconds from the first task"
            unset key
        }
        plot for [s = 0:stages - 1] file index s \
            using (($1 + $2) / 2):3:1:2:($3 - half):($3 + half) with boxxyerror lt s + 1 lw 0.35 \
            title columnheader(1)
        unset label 1000
    }
    unset multiplot
    unset output
    eval caption_cmd
}
