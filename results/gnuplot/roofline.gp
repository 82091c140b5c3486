# roofline.png / .svg: the memory traffic of each backend (bytes read + written per
# second, fastest setting, largest input size) against the copy bandwidth measured on
# this machine (memcpy: the line). A bar near the line is limited by memory, far
# below it by computation or overhead.
# Beside it, when bench measured compute roofs and some SIMD backend ran, a second
# panel: the blur's multiply-adds per second against the multiply-add peak of the
# same SIMD level measured on as many threads (the compute roof: the marks).
# Data: roofline.dat: label, GB/s, percent of the copy bandwidth.
# roofline_info.dat: the subtitle and the copy bandwidth in GB/s (0: not measured).
# roofline_compute.dat: label, G multiply-adds/s, roof G/s, percent of the roof.
# roofline_compute_info.dat: its subtitle and its number of rows (0: one panel).

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/roofline.dat"
compute = datadir . "/roofline_compute.dat"
eval read_info(datadir . "/roofline_compute_info.dat")
compute_rows = info_value[1]
eval read_info(datadir . "/roofline_info.dat")
subtitle = info_text[1]
copy_bw = info_value[1]
if (compute_rows > 0) {
    stats compute using 0 nooutput
    compute_groups = STATS_max + 1
    stats compute using (strlen(strcol(1))) nooutput
    compute_longest = STATS_max
    stats compute using ($3 > $2 ? $3 : $2) nooutput
    compute_top = STATS_max
}
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

roof_label(g, pct) = sprintf("%.0f G/s\n%.0f%% of roof", g, pct)

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("roofline", fmt)
    # Two panels: shorter titles and keys, each panel half as wide.
    panels = compute_rows > 0
    if (panels) {
        set multiplot layout 1, 2
        mode = label_mode(groups, longest, 380)
        eval label_tics_cmd(mode)
        eval category_axis_cmd(mode, longest, "backend (fastest setting)")
        set key font ",11"
        set title "Memory bandwidth\n" . subtitle font ",13"
        copy_key = sprintf("memcpy: %.1f GB/s", copy_bw)
        gbs_key = "GB/s at the median"
    } else {
        set title "Memory bandwidth " . subtitle
        copy_key = copy_title
        gbs_key = "backend GB/s at the median"
    }
    set ylabel "GB/s (bytes read + written)"
    set xrange [-0.6 : groups - 0.4]
    set yrange [0 : top * 1.3]
    if (copy_bw > 0) {
        set arrow 1 from graph 0, first copy_bw to graph 1, first copy_bw nohead lw 2.2 lc rgb "#D55E00" front
    }
    plot data using 0:2:xtic(group_label(strcol(1), mode)) with boxes lt 1 \
             title gbs_key, \
         keyentry with lines lw 2.2 lc rgb "#D55E00" title (copy_bw > 0 ? copy_key : copy_title), \
         data using 0:2:(bar_label($2, $3)) with labels offset 0, 1.3 font ",10" \
             textcolor rgb "#333333" notitle
    if (panels) {
        unset arrow 1
        unset label 1000
        cmode = label_mode(compute_groups, compute_longest, 380)
        eval label_tics_cmd(cmode)
        eval category_axis_cmd(cmode, compute_longest, "SIMD backend (fastest setting)")
        set title "Compute: the blur's multiply-adds\nagainst the measured peak (compute roof)" font ",13"
        set ylabel "G 16-bit multiply-adds per second"
        set xrange [-0.6 : compute_groups - 0.4]
        set yrange [0 : compute_top * 1.3]
        plot compute using 0:2:xtic(group_label(strcol(1), cmode)) with boxes lt 3 \
                 title "at the median", \
             compute using ($0 - 0.4):3:(0.8):(0) with vectors nohead lw 3 lc rgb "#D55E00" \
                 title "peak of its level, same threads", \
             compute using 0:2:(roof_label($2, $4)) with labels offset 0, 1.3 font ",10" \
                 textcolor rgb "#333333" notitle
        unset multiplot
        eval caption_cmd
    }
    unset output
}
