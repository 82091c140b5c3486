# job.png / .svg: where the whole job's time goes (bench --input FILE): for each
# backend's whole-job row, the medians of decoding the file's bytes, the pipeline and
# encoding to the input's format (all in memory), stacked. The label over each bar is
# Amdahl's ceiling: the whole job's speedup if the pipeline took no time,
# (decode + pipeline + encode) / (decode + encode), and the pipeline's share of the
# parts ("≤ 1.31× (pipeline 23%)": no backend can make this job more than 1.31 times
# faster, however fast its pipeline). The
# triangle is the whole job's own median (the parts' medians need not add up to it).
# Data: job.dat: a header line, then label, decode, pipeline, encode, whole job median
# (milliseconds), pipeline share in percent, ceiling. job_info.dat: the subtitle and
# the number of rows.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/job.dat"
eval read_info(datadir . "/job_info.dat")
subtitle = info_text[1]
stats data using 0 nooutput
groups = STATS_max
stats data using (strlen(strcol(1))) nooutput
longest = STATS_max
stats data using ($2 + $3 + $4) nooutput
top = STATS_max
stats data using 5 nooutput
top = (STATS_max > top ? STATS_max : top)

set title "Where the whole job's time goes " . subtitle offset 0, 2.2
set style data histograms
set style histogram rowstacked
set boxwidth 0.6 relative
set xrange [-0.6 : groups - 0.4]
set yrange [0 : top * 1.22]
set ylabel "milliseconds per job"
mode = label_mode(groups, longest, 850)
eval label_tics_cmd(mode)
eval category_axis_cmd(mode, longest, "backend (whole job: decode + pipeline + encode)")
# The legend in a row under the title, clear of the bars and their labels. The header
# line of job.dat names the columns for every plot (also the untitled labels, whose
# row numbers then start at the first backend, as the bars' do).
set key autotitle columnheader
set tmargin at screen 0.80
set key at screen 0.5, screen 0.875 center top horizontal maxrows 1 reverse Left samplen 1.2 width 1
set lmargin 10
set rmargin 3

# decode and encode in neutral tones, the pipeline (the part the backends change) in
# the first colour of the palette.
do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("job", fmt)
    plot data using 2:xtic(group_label(strcol(1), mode)) title columnheader(2) lc rgb "#999999", \
         data using 3 title columnheader(3) lt 1, \
         data using 4 title columnheader(4) lc rgb "#E69F00", \
         data using 0:5 with points pt 9 ps 2.2 lc rgb "#111111" title columnheader(5), \
         data using 0:($2 + $3 + $4):(sprintf("≤ %.2f× (pipeline %.0f%%)", $7, $6)) \
             with labels offset 0, 1.5 font ",11" notitle
    unset output
}
