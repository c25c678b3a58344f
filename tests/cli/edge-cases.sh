#!/bin/sh
# Edge cases of content and of file names: empty input, one byte, 1 MiB of one
# byte value, random data, a file spanning several blocks, names with spaces,
# leading dashes and non-ASCII bytes, files in other directories.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/cli/lib.sh"

roundtrip() { # roundtrip DESC FILE [LEVEL]
    d=$1; f=$2; lv=${3:--1}
    cp -- "$f" "$f.orig"
    run 0 "$d: compress" mbz "$lv" -T2 -- "$f" || return
    absent "$d: input removed" "$f"
    run 0 "$d: decompress" mbz -d -T2 -- "$f.mbz" || return
    same "$d: round trip" "$f" "$f.orig"
    if mbz "$lv" -T2 <"$f" | mbz -d -T2 | cmp -s - "./$f.orig"; then ok "$d: pipe"; else fail "$d: pipe round trip"; fi
    rm -f -- "$f.orig"
}

: >empty
roundtrip "empty file" empty
roundtrip "empty file, default level" empty ""
check "empty file stays empty" [ ! -s empty ]
mbz </dev/null >empty.p.mbz
check "empty stdin gives a non-empty frame" [ -s empty.p.mbz ]
check "empty frame decodes to nothing" [ "$(mbz -d <empty.p.mbz | wc -c)" -eq 0 ]

printf 'x' >one
roundtrip "one byte" one
printf '\000' >nul
roundtrip "one NUL byte" nul

head -c 1048576 /dev/zero >zeros
roundtrip "1 MiB of zeros" zeros
head -c 1048576 /dev/zero | tr '\000' 'a' >aaaa
cp aaaa aaaa.orig
run 0 "1 MiB of 'a': compress" mbz -1 -T2 aaaa
check "1 MiB of one byte compresses to under 64 KiB" [ "$(wc -c <aaaa.mbz)" -lt 65536 ]
run 0 "1 MiB of 'a': decompress" mbz -d aaaa.mbz
same "1 MiB of 'a': round trip" aaaa aaaa.orig

gen_random 300000 random
cp random random.orig
run 0 "random: compress" mbz -1 -T2 random
sz=$(wc -c <random.mbz)
check "random data grows by at most 1% + 1 KiB ($sz bytes)" [ "$sz" -le $((300000 + 3000 + 1024)) ]
run 0 "random: decompress" mbz -d random.mbz
same "random: round trip" random random.orig
gen_random 1 rnd1
roundtrip "one random byte" rnd1

# Several blocks: about 1.3 MiB of text and binary (level 1 has the smallest
# blocks, 256 KiB in format version 1).
cat "$CORPORA/plrabn12.txt" "$CORPORA/lcet10.txt" "$CORPORA/ptt5" >multi
cp multi multi.orig
run 0 "multi-block: compress" mbz -1 -T2 multi
run 0 "multi-block: list" mbz -l multi.mbz
blocks=$(awk 'NR == 2 { print $5 }' "$T/.stdout")
check "multi-block: several blocks listed ($blocks)" [ "${blocks:-0}" -ge 2 ]
run 0 "multi-block: test" mbz -t -T2 multi.mbz
run 0 "multi-block: decompress" mbz -d -T2 multi.mbz
same "multi-block: round trip" multi multi.orig
rm -f multi multi.orig

# File names.
printf 'spaces\n' >"a file with spaces"
roundtrip "name with spaces" "a file with spaces"
printf 'dash\n' >-dash
roundtrip "name with a leading dash" -dash
printf 'dashes\n' >--double
roundtrip "name with two leading dashes" --double
printf 'x\n' >"$(printf 'na\303\257ve \342\230\203')"
roundtrip "UTF-8 name" "$(printf 'na\303\257ve \342\230\203')"
printf 'y\n' >"$(printf 'latin1-\351')"
roundtrip "non-UTF-8 name" "$(printf 'latin1-\351')"
printf 'quote\n' >"it's \"quoted\" \$x *"
roundtrip "name with quotes and glob characters" "it's \"quoted\" \$x *"
mkdir -p "sub dir/deeper"
printf 'in a directory\n' >"sub dir/deeper/f.txt"
cp "sub dir/deeper/f.txt" f.ref
run 0 "file in another directory" mbz -1 "sub dir/deeper/f.txt"
exists "output beside its input" "sub dir/deeper/f.txt.mbz"
no_temp "no temporary file in the output directory" "sub dir/deeper"
run 0 "decompress in another directory (absolute path)" mbz -d "$T/sub dir/deeper/f.txt.mbz"
same "round trip in another directory" "sub dir/deeper/f.txt" f.ref

# A name as long as the file system allows: NAME.mbz is too long.
name_max=$(getconf NAME_MAX . 2>/dev/null || echo 255)
long=$(printf "%0$((name_max - 2))d" 0)
if printf 'long\n' >"$long" 2>/dev/null; then
    run 1 "output name too long" mbz -1 "$long"
    stderr_one_line "output name too long: one line"
    exists "too long: input kept" "$long"
    no_temp "too long: no temporary file" .
    run 0 "too long: -c still works" mbz -1 -c "$long"
    rm -f "$long"
fi
no_temp "no temporary files left" .
finish
