# roofline.png / .svg: the memory traffic of each backend (bytes read + written per
# second, fastest setting, largest input size) against the copy bandwidth measured on
# this machine (memcpy: the line). A bar near the line is limited by memory, far
# below it by computation or overhead.
# Data: roofline.dat: label, GB/s, percent of the copy bandwidth.
# roofline_info.dat: the subtitle and the copy bandwidth in GB/s (0: not measured).

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/roofline.dat"
eval read_info(datadir . "/roofline_info.dat")
subtitle = info_text[1]
copy_bw = info_value[1]
stats data using 0 nooutput
groups = STATS_max + 1
# (stats honours the ranges set below: all of them run first.)
stats data using (strlen(strcol(1))) nooutput
longest = STATS_max
stats data using 2 nooutput
top = (STATS_max > copy_bw ? STATS_max : copy_bw)

set title "Memory bandwidth " . subtitle
set ylabel "GB/s (bytes read + written)"
set xrange [-0.6 : groups - 0.4]
set yrange [0 : top * 1.3]
set boxwidth 0.6 absolute
mode = label_mode(groups, longest, 850)
eval label_tics_cmd(mode)
eval category_axis_cmd(mode, longest, "backend (fastest setting)")
set key top left reverse Left
set lmargin 10
set rmargin 3

if (copy_bw > 0) {
    set arrow 1 from graph 0, first copy_bw to graph 1, first copy_bw nohead lw 2.2 lc rgb "#D55E00" front
    copy_title = sprintf("machine copy bandwidth (memcpy): %.1f GB/s", copy_bw)
} else {
    copy_title = "machine copy bandwidth: not measured"
}
bar_label(gbs, pct) = (pct == pct) ? sprintf("%.1f GB/s\n%.0f%% of copy", gbs, pct) : sprintf("%.1f GB/s", gbs)

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("roofline", fmt)
    plot data using 0:2:xtic(group_label(strcol(1), mode)) with boxes lt 1 \
             title "backend GB/s at the median", \
         keyentry with lines lw 2.2 lc rgb "#D55E00" title copy_title, \
         data using 0:2:(bar_label($2, $3)) with labels offset 0, 1.3 font ",10" \
             textcolor rgb "#333333" notitle
    unset output
}
