# speedup.png / .svg: how many times faster than serial each backend setting runs, at
# each input size; the dashed line is serial itself.
# Data: speedup.dat, one block per size: a header line "WxH", then
# label, speedup at the median, at the q3 time, at the q1 time.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/speedup.dat"
# Column 0 counts lines within a block from the header (0): its maximum is the
# number of groups.
stats data using 0 nooutput
groups = STATS_max
# (stats honours the ranges set below: all of them run first.)
stats data using (strlen(strcol(1))) nooutput
longest = STATS_max
stats data using 4 nooutput
sizes = STATS_blocks
high = STATS_max
bars = STATS_records

set title "Speedup over serial (serial time / backend time, same input size)"
set ylabel "speedup over serial (×)"
set yrange [0 : (high > 1 ? high : 1) * 1.15]
set format y "%g×"
set style data histograms
set xrange [-0.6 : groups - 0.4]
set style histogram errorbars gap 1.5 lw 1.2   # keep equal to gap below
set boxwidth 0.92 relative
mode = label_mode(groups, longest, 850)
eval label_tics_cmd(mode)
eval category_axis_cmd(mode, longest, "backend and setting")
set key top left reverse Left title "input size"
set lmargin 10
set rmargin 3

# Serial is the unit: above the line is faster, below slower.
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#333333" front
gap = 1.5

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("speedup", fmt)
    # $0 counts the header line of a block when it is not read as a title: hence $0 - 1.
    plot for [i = 0:sizes - 1] data index i using 2:3:4:xtic(group_label(strcol(1), mode)) \
             title columnheader(1) lt i + 1, \
         keyentry with lines dt 2 lw 1.5 lc rgb "#333333" title "serial (1×)", \
         for [i = 0:(bars <= max_labelled_bars ? sizes - 1 : -1)] data index i \
             using (hist_x($0 - 1, i, sizes, gap)):4:(sprintf("%.1f", $2)) \
             with labels offset 0, 0.55 font ",9" textcolor rgb "#333333" notitle
    unset output
}
