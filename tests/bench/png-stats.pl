#!/usr/bin/perl
# png-stats.pl - minimal PNG decoder for the screenshot test (core Perl only:
# Compress::Zlib ships with perl). 8-bit RGB or RGBA, non-interlaced, which is
# what Chromium writes.
#
#   perl png-stats.pl FILE.png [RRGGBB ...]
#
# prints key=value lines:
#   width, height     from IHDR
#   colors            distinct RGB values (alpha ignored)
#   nonwhite          pixels other than #ffffff
#   dark              pixels with every channel below 0x80 (text)
#   top_colors        the 8 commonest colours, RRGGBB:count, commonest first
#   RRGGBB            pixels of exactly that colour, for each argument
# Exit status 1 (with a message) on anything that is not such a PNG.
use strict;
use warnings;
use Compress::Zlib qw(uncompress);

my $file = shift @ARGV or die "usage: $0 FILE.png [RRGGBB ...]\n";
open(my $fh, '<:raw', $file) or die "$file: $!\n";
my $png = do { local $/; <$fh> };
close $fh;

substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" or die "$file: not a PNG\n";
my ($pos, $w, $h, $depth, $ctype, $interlace, $idat) = (8, 0, 0, 0, 0, 0, '');
while ($pos + 8 <= length $png) {
    my ($len, $type) = unpack('N a4', substr($png, $pos, 8));
    $pos + 12 + $len <= length $png or die "$file: truncated chunk $type\n";
    my $data = substr($png, $pos + 8, $len);
    if ($type eq 'IHDR') {
        ($w, $h, $depth, $ctype, undef, undef, $interlace) = unpack('N N C C C C C', $data);
    } elsif ($type eq 'IDAT') {
        $idat .= $data;
    } elsif ($type eq 'IEND') {
        last;
    }
    $pos += 12 + $len;
}
$w > 0 && $h > 0 or die "$file: no IHDR\n";
$depth == 8 && ($ctype == 2 || $ctype == 6) && !$interlace
    or die "$file: unsupported PNG (depth $depth, colour type $ctype, interlace $interlace)\n";
my $bpp = $ctype == 6 ? 4 : 3;
my $stride = $w * $bpp;
my $raw = uncompress($idat);
defined $raw && length($raw) == $h * (1 + $stride) or die "$file: bad image data\n";

my %want = map { lc($_) => 0 } @ARGV;
my %count;
my ($nonwhite, $dark) = (0, 0);
my @prev = (0) x $stride;
for my $y (0 .. $h - 1) {
    my $off = $y * (1 + $stride);
    my $filter = ord substr($raw, $off, 1);
    my @cur = unpack('C*', substr($raw, $off + 1, $stride));
    if ($filter == 1) {
        $cur[$_] = ($cur[$_] + $cur[$_ - $bpp]) & 255 for $bpp .. $stride - 1;
    } elsif ($filter == 2) {
        $cur[$_] = ($cur[$_] + $prev[$_]) & 255 for 0 .. $stride - 1;
    } elsif ($filter == 3) {
        for my $i (0 .. $stride - 1) {
            my $a = $i >= $bpp ? $cur[$i - $bpp] : 0;
            $cur[$i] = ($cur[$i] + (($a + $prev[$i]) >> 1)) & 255;
        }
    } elsif ($filter == 4) {
        for my $i (0 .. $stride - 1) {
            my ($a, $c) = $i >= $bpp ? ($cur[$i - $bpp], $prev[$i - $bpp]) : (0, 0);
            my $b = $prev[$i];
            my $p = $a + $b - $c;
            my ($pa, $pb, $pc) = (abs($p - $a), abs($p - $b), abs($p - $c));
            $cur[$i] = ($cur[$i] + ($pa <= $pb && $pa <= $pc ? $a : $pb <= $pc ? $b : $c)) & 255;
        }
    } elsif ($filter != 0) {
        die "$file: bad filter $filter in row $y\n";
    }
    for (my $i = 0; $i < $stride; $i += $bpp) {
        my $rgb = ($cur[$i] << 16) | ($cur[$i + 1] << 8) | $cur[$i + 2];
        $count{$rgb}++;
    }
    @prev = @cur;
}
for my $rgb (keys %count) {
    my ($r, $g, $b) = ($rgb >> 16, ($rgb >> 8) & 255, $rgb & 255);
    $nonwhite += $count{$rgb} if $rgb != 0xffffff;
    $dark += $count{$rgb} if $r < 0x80 && $g < 0x80 && $b < 0x80;
    my $hex = sprintf('%06x', $rgb);
    $want{$hex} = $count{$rgb} if exists $want{$hex};
}
my @top = (sort { $count{$b} <=> $count{$a} || $a <=> $b } keys %count)[0 .. 7];
print "width=$w\nheight=$h\ncolors=", scalar(keys %count), "\n";
print "nonwhite=$nonwhite\ndark=$dark\n";
print 'top_colors=', join(' ', map { sprintf('%06x:%d', $_, $count{$_}) } grep { defined } @top), "\n";
print "$_=$want{$_}\n" for sort keys %want;
