# simd_levels.png / .svg: throughput of the simd backend at each instruction-set level
# (portable, sse4.1, avx2, avx512, avx512icl), one bar per input size; whiskers from the quartile
# run times. A level the CPU cannot run keeps its slot, labelled with its verdict.
# Data: simd_levels.dat, one block per size: a header line "WxH", then
# level, MP/s at the median, MP/s at q3, MP/s at q1 (NaN when not timed).

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/simd_levels.dat"
# Column 0 counts lines within a block from the header (0): its maximum is the
# number of groups.
stats data using 0 nooutput
groups = STATS_max
stats data using 4 nooutput
sizes = STATS_blocks
high = STATS_max
bars = STATS_records
gap = 1.5

set title "SIMD backend: throughput per instruction-set level"
set ylabel "throughput (megapixels/s)"
set xlabel "instruction-set level (SIMDe)\n "
set yrange [0 : high * 1.18]
set style data histograms
set xrange [-0.6 : groups - 0.4]
set style histogram errorbars gap 1.5 lw 1.2   # keep equal to gap above
set boxwidth 0.92 relative
set xtics nomirror
set key top left reverse Left title "input size"
set lmargin 10
set rmargin 3

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("simd_levels", fmt)
    plot for [i = 0:sizes - 1] data index i using 2:3:4:xtic(1) title columnheader(1) lt i + 1, \
         for [i = 0:(bars <= max_labelled_bars ? sizes - 1 : -1)] data index i \
             using (hist_x($0 - 1, i, sizes, gap)):4:(sprintf("%.0f", $2)) \
             with labels offset 0, 0.55 font ",10" textcolor rgb "#333333" notitle
    unset output
}
