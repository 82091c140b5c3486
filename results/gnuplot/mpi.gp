# mpi.png / .svg: `mpirun -n N imgpipe batch` (results/mpi.sh): images per second of the
# whole job (process start to exit) against the number of ranks, for one thread per
# rank and two threads per rank, with the single process (no mpirun) on one core
# beside them and the ideal (ranks times one rank's rate) dashed. Each point is the
# median; its bar spans the slowest to the fastest round. The single process's label
# goes below its point, the others' above, so the two at 1 rank do not overlap.
# Data: mpi.dat, one block per series: a header line with its name, then ranks,
# images/s at the median, the slowest and the fastest round; the last block is the
# ideal line. mpi_info.dat: the subtitle.

script_dir(p) = strstrt(p, "/") ? p[1:strstrt(p, "/")] . script_dir(p[strstrt(p, "/") + 1:]) : ""
load script_dir(ARG0) . "common.gp"

data = datadir . "/mpi.dat"
eval read_info(datadir . "/mpi_info.dat")
subtitle = info_text[1]
stats data using 1 nooutput
series = STATS_blocks
max_ranks = STATS_max
stats data using 4 nooutput
top = STATS_max

set xrange [0.5 : max_ranks + 0.5]
set xtics 1 nomirror
set xlabel "MPI ranks (processes), one machine\n"
set ylabel "images per second (whole job)"
set yrange [0 : top * 1.35]
set key top left reverse Left nobox

do for [fmt in "png svg"] {
    eval term_cmd(fmt)
    set output out_file("mpi", fmt)
    set title "imgpipe batch under MPI\n" . subtitle
    plot for [i = 0:series - 2] data index i using 1:2:3:4 with yerrorlines lt (i + 1) \
             title columnheader(1), \
         data index (series - 1) using 1:2 with lines dt 2 lw 1.6 lc rgb "#555555" \
             title columnheader(1), \
         for [i = 0:series - 2] data index i using 1:2:(sprintf("%.2f", $2)) with labels \
             offset (i == series - 2 ? -3 : 3), (i == series - 2 ? -0.9 : 0.6) font ",10" \
             textcolor rgb "#333333" notitle
    unset output
}
