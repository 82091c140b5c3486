# threads_scaling.png / .svg: speedup of the threads backend over one thread with the
# same CPUs, against the thread count: pinned to one core the threads can only take
# turns (interleaved, ideal 1); on all cores they can run at once (parallel, ideal
# min(threads, cores)). Lower panel: involuntary context switches per run, the cost
# of more threads than cores.
# Data: threads_scaling.dat, one block per series: a header line with its name, then
# threads, speedup, ideal speedup, involuntary context switches per run.
# threads_scaling_info.dat: the subtitle (input size) and the number of series.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/threads_scaling.dat"
eval read_info(datadir . "/threads_scaling_info.dat")
subtitle = info_text[1]
stats data using 1 nooutput
series = STATS_blocks
max_threads = STATS_max
stats data using 2 nooutput
top = STATS_max
stats data using 3 nooutput
top = (STATS_max > top ? STATS_max : top)
stats data using 4 nooutput
switches = STATS_max

# Thread counts are powers of two in practice: a log2 axis spaces them evenly.
set logscale x 2
set xrange [0.8 : max_threads * 1.25]
set xtics 2 nomirror
set format x "%g"

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("threads_scaling", fmt)
    set multiplot title "Threads backend scaling " . subtitle font ",15"

    # Upper panel: speedup and the ideal lines.
    set lmargin at screen 0.10
    set rmargin at screen 0.97
    set tmargin at screen 0.88
    set bmargin at screen 0.42
    set ylabel "speedup over 1 thread (×)" offset 0, 0
    unset xlabel
    set format x ""
    # Headroom above the data for the key.
    set yrange [0 : top * 1.75]
    set format y "%g×"
    set key top left reverse Left nobox
    set ytics autofreq
    plot for [i = 0:series - 1] data index i using 1:2 with linespoints lt (i == series - 1 ? 1 : 2) \
             title columnheader(1), \
         for [i = 0:series - 1] data index i using 1:3 with lines dt 2 lw 1.6 \
             lt (i == series - 1 ? 1 : 2) notitle, \
         keyentry with lines dt 2 lw 1.6 lc rgb "#555555" title "ideal: 1 on one core, min(threads, cores) on all", \
         for [i = 0:series - 1] data index i using 1:2:($1 > 1 ? sprintf("%.2f×", $2) : "") with labels \
             offset 0, 1.1 font ",10" textcolor rgb "#333333" notitle
    unset label 1000

    # Lower panel: involuntary context switches per run.
    set tmargin at screen 0.38
    set bmargin at screen 0.15
    set ylabel "involuntary context\nswitches per run" offset -1.2, 0
    set xlabel "worker threads"
    set format x "%g"
    set yrange [0 : (switches > 0 ? switches * 1.15 : 1)]
    set ytics nice_step(switches, 4)
    set format y "%g"
    unset key
    plot for [i = 0:series - 1] data index i using 1:4 with linespoints lt (i == series - 1 ? 1 : 2) \
             title columnheader(1)
    unset multiplot
    unset output
    eval caption_cmd
}
