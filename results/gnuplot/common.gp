# Shared look of every imgpipe chart; each script loads this file from its own folder.
#
# Every script is run as
#   gnuplot -e "datadir='DIR/chart-data'; outdir='DIR'; caption='machine, cores, date'" NAME.gp
# reads the .dat files `imgpipe chart` prepared in datadir and writes NAME.png and
# NAME.svg into outdir.

if (!exists("datadir")) datadir = "."
if (!exists("outdir")) outdir = "."
if (!exists("caption")) caption = ""

set encoding utf8

# The same drawing goes to both formats: a 1000x600 PNG for the README and the
# report, and an SVG of it for zooming. Labels are plain text (noenhanced): backend
# settings contain '_' and '^'-like characters that must not turn into sub/superscripts.
term_png = "set terminal pngcairo size 1000,600 noenhanced font 'DejaVu Sans,13' linewidth 1.3 background rgb '#ffffff'"
term_svg = "set terminal svg size 1000,600 dynamic noenhanced font 'DejaVu Sans,13' linewidth 1.3 background rgb '#ffffff'"
term_cmd(fmt) = fmt eq "png" ? term_png : term_svg
out_file(name, fmt) = outdir . "/" . name . "." . fmt

# Okabe-Ito colours: distinguishable with the common kinds of colour blindness.
set linetype 1 lc rgb "#0072B2" lw 2 pt 7 ps 1.3
set linetype 2 lc rgb "#E69F00" lw 2 pt 5 ps 1.2
set linetype 3 lc rgb "#009E73" lw 2 pt 9 ps 1.4
set linetype 4 lc rgb "#CC79A7" lw 2 pt 11 ps 1.4
set linetype 5 lc rgb "#56B4E9" lw 2 pt 13 ps 1.4
set linetype 6 lc rgb "#D55E00" lw 2 pt 15 ps 1.4
set linetype 7 lc rgb "#F0E442" lw 2 pt 7 ps 1.3
set linetype 8 lc rgb "#666666" lw 2 pt 5 ps 1.2
set linetype cycle 8

set border 3 lc rgb "#404040"
set tics nomirror out scale 0.6 textcolor rgb "#202020"
set grid ytics linetype -1 linecolor rgb "#e4e4e4" linewidth 1
set grid back
set key noautotitle samplen 2 spacing 1.1 textcolor rgb "#202020"
set title font ",15" textcolor rgb "#111111"
set style fill solid 0.88 border lc rgb "#303030"

# The machine, core count and date of the run, in a row of its own at the bottom right
# of every chart (x labels end with an empty line to keep that row free). A multiplot
# draws it with its first panel only, then sets it again for the next format.
caption_cmd = "set label 1000 caption at screen 0.99, screen 0.02 right font ',10' textcolor rgb '#666666' front"
eval caption_cmd

# A quoted subtitle and one number from an info file written by imgpipe.
array info_text[1]
array info_value[1]
read_info(file) = sprintf("stats '%s' using (info_text[1] = strcol(1), info_value[1] = column(2), 0) nooutput", file)

# Centre of bar i (from 0) of n in group g of a clustered histogram drawn with
# `set style histogram ... gap G`: groups sit at 0, 1, 2...; each bar is 1/(n+G) wide.
hist_x(g, i, n, G) = g + (i - (n - 1) / 2.0) / (n + G)
# Value labels only while bars are wide enough to carry them.
max_labelled_bars = 24

# A round tic step (1, 2 or 5 times a power of ten) giving about n intervals up to top:
# small panels otherwise get a tic every unit.
nice_step(top, n) = (top <= 0 ? 1 : nice_mantissa(top / n / 10.0**floor(log10(top / n))) * 10.0**floor(log10(top / n)))
nice_mantissa(r) = r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10

# Category labels ("backend setting") under bar groups, laid out by how much room
# there is: level and broken after the backend (mode 0) while the longer line fits
# the group's width (about 7.5 pixels per character, the longer line taken as 0.6 of
# the label), else on one line tilted by 30 degrees (mode 1), or by 60 degrees in a
# smaller font when there are many groups (mode 2); plot_px is the plot's width.
label_mode(groups, longest, plot_px) = longest * 0.6 * 7.5 <= 0.9 * plot_px / groups ? 0 : \
    groups <= 14 ? 1 : 2
label_tics_cmd(mode) = mode == 0 ? "set xtics norotate center nomirror font ',12'" : \
    mode == 1 ? "set xtics rotate by 30 right nomirror font ',11'" : \
    "set xtics rotate by 60 right nomirror font ',10'"
group_label(s, mode) = (mode == 0 && strstrt(s, " ") > 0) ? \
    s[1:strstrt(s, " ") - 1] . "\n" . s[strstrt(s, " ") + 1:] : s
# gnuplot's own room for tilted labels is far too generous (it can leave the plot a
# fifth of the chart), so the bottom margin is sized from the longest label, in pixels
# of the 600-pixel-high chart, and the x-axis title becomes a label of its own just
# above the caption row. Use as: eval category_axis_cmd(mode, longest, "title").
label_extent(mode, longest) = mode == 0 ? 58 : \
    mode == 1 ? longest * 9.0 * 0.5 + 18 : longest * 8.4 * 0.866 + 12
category_axis_cmd(mode, longest, title) = sprintf( \
    "unset xlabel; set bmargin at screen %.3f; set label 1001 '%s' at graph 0.5, screen 0.075 center", \
    (label_extent(mode, longest) + 56) / 600.0, title)
