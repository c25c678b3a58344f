# tools/bench-plot.gp - the plots of tools/bench (gnuplot 5).
# Variables (gnuplot -e): corpus, speed (file: "label" ratio cMB/s dMB/s),
# bpb (file: header row of labels, then "file" bpb...), ncol (columns of bpb),
# fmt ('png' or 'svg'), outbase (output path without the suffix).
if (fmt eq 'png') {
    set terminal pngcairo size 900,560 noenhanced font ',10'
} else {
    set terminal svg size 900,560 noenhanced font 'sans,11' background '#ffffff'
}
set grid
set key off
set logscale x
set ylabel 'compression ratio (original / compressed)'

set output outbase.'-ratio-cspeed.'.fmt
set title corpus.': ratio vs compression speed (1 thread; noisy shared machine)'
set xlabel 'compression speed, MB/s (log scale)'
plot speed using 3:2 with points pt 7 ps 1.3 lc rgb '#1f77b4', \
     speed using 3:2:1 with labels offset char 1,0.7 left font ',9'

set output outbase.'-ratio-dspeed.'.fmt
set title corpus.': ratio vs decompression speed (1 thread; noisy shared machine)'
set xlabel 'decompression speed, MB/s (log scale)'
plot speed using 4:2 with points pt 7 ps 1.3 lc rgb '#d62728', \
     speed using 4:2:1 with labels offset char 1,0.7 left font ',9'

unset logscale x
set output outbase.'-bpb.'.fmt
set title corpus.': bits per byte per file (lower is better)'
set xlabel ''
set ylabel 'bits per byte'
set key outside right top vertical
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 left
set yrange [0:*]
plot for [i=2:ncol] bpb using i:xtic(1) title columnheader(i)
set output
