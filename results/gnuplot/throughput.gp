# throughput.png / .svg: megapixels per second of every backend setting, one bar per
# input size, log scale; whiskers from the quartile run times (MP/s at q3 .. at q1).
# Data: throughput.dat, one block per size: a header line "WxH", then
# label, MP/s at the median, MP/s at q3, MP/s at q1.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/throughput.dat"
# Column 0 counts lines within a block from the header (0): its maximum is the
# number of groups.
stats data using 0 nooutput
groups = STATS_max
# (stats honours the ranges set below: all of them run first.)
stats data using (strlen(strcol(1))) nooutput
longest = STATS_max
stats data using 3 nooutput
sizes = STATS_blocks
low = STATS_min
stats data using 4 nooutput
high = STATS_max

set title "Throughput per backend setting"
set ylabel "throughput (megapixels/s, log scale)"
# Log scale: backends differ by orders of magnitude. The range hugs the data so
# the bars use the height of the chart rather than empty decades.
set logscale y
set yrange [low / 1.8 : high * 2.2]
set format y "%g"
# 1-2-5 tics: a log axis spanning less than two decades needs more than its powers of ten.
set ytics ()
do for [k = -3:7] { set ytics add (10.0**k, 2 * 10.0**k, 5 * 10.0**k) }
set mytics 10
set style data histograms
set xrange [-0.6 : groups - 0.4]
set style histogram errorbars gap 1.5 lw 1.2
set boxwidth 0.92 relative
mode = label_mode(groups, longest, 850)
eval label_tics_cmd(mode)
eval category_axis_cmd(mode, longest, "backend and setting")
set key top left reverse Left title "input size"
set lmargin 10
set rmargin 3

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("throughput", fmt)
    plot for [i = 0:sizes - 1] data index i using 2:3:4:xtic(group_label(strcol(1), mode)) \
             title columnheader(1) lt i + 1
    unset output
}
