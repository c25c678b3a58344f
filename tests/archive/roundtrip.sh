#!/bin/sh
# mbzip -r DIR -> DIR.tar.mbz and back with mbzip -x / mbzip -d -r: contents,
# modes, times, symbolic links and hard links survive; -l lists entries; -t tests;
# existing outputs and files are not overwritten without -f; no temporary files.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

make_tree src            # with a 1 MB file
make_tree small 3000
run 0 "mbzip -r DIR" mbz -1 -T2 -r src
exists "DIR.tar.mbz made" src.tar.mbz
exists "the directory is kept" src/alice.txt
check "DIR.tar.mbz is an mbzip stream" [ "$(head -c 4 src.tar.mbz | od -An -tx1 | tr -d ' \n')" = 894d425a ]
no_temp "no temporary file" .
run 0 "mbzip -t -r reads every entry" mbz -t -r src.tar.mbz

mkdir x1
run 0 "mbzip -x -C DIR" mbz -x -C x1 src.tar.mbz
stderr_empty "extraction is quiet"
same_tree "round trip keeps the tree" src x1/src
exists "the archive is kept" src.tar.mbz

# Listing
run 0 "mbzip -l -r" mbz -l -r src.tar.mbz
n=$(wc -l <"$T/.stdout")
check "one line per entry (18)" [ "$n" -eq 18 ]
stdout_has "lists a unicode name" 'ünïcødé/fïlé ☃.txt$'
run 0 "mbzip -lv -r" mbz -lv -r src.tar.mbz
stdout_has "-lv: mode, owner, size, date, name" '^-rw-r--r-- +[^ ]+/[^ ]+ +1000000 2001-02-03 04:05 src/sub/one-mb.bin$'
stdout_has "-lv: symbolic link target" 'src/sub/alice-symlink -> \.\./alice\.txt$'
stdout_has "-lv: hard link" ' link to src/'
stdout_has "-lv: private mode" '^-rw------- .* src/sub/deeper/deepest/private$'
run 0 "plain -l keeps the sizes table" mbz -l src.tar.mbz
stdout_has "-l table" 'src\.tar\.mbz$'

run 0 "mbzip -r small" mbz -1 -T2 -r small
mkdir x2
run 0 "mbzip -d -r (in the current directory)" sh -c 'cd x2 && "$MBZIP" -d -r ../small.tar.mbz'
same_tree "mbzip -d -r round trip" small x2/small
mkdir x3
run 0 "--extract --directory=DIR" mbz --extract --directory=x3 small.tar.mbz
same_tree "long options" small x3/small
mkdir x4
run 0 "extract from standard input" sh -c '"$MBZIP" -x -C x4 <small.tar.mbz'
same_tree "extract from stdin" small x4/small

# A trailing slash and a path: names start with the last component.
mkdir -p p/q && cp -a small p/q/tree
run 0 "mbzip -r a/b/ (trailing slash)" mbz -1 -T2 --archive p/q/tree/
exists "a/b.tar.mbz made" p/q/tree.tar.mbz
run 0 "list" mbz -lr p/q/tree.tar.mbz
stdout_has "names start with the directory's own name" '^tree/sub/deeper/run.sh$'
if grep -q '^p/' "$T/.stdout"; then fail "parent path stored"; else ok "no parent path stored"; fi

# Existing outputs and files
run 1 "existing DIR.tar.mbz not overwritten" mbz -1 -T2 -r small
stderr_has "says so" 'small\.tar\.mbz: already exists'
run 0 "-f overwrites it" mbz -1 -T2 -rf small
no_temp "no temporary file" .
run 1 "extraction over existing files refused" mbz -x -C x3 small.tar.mbz
stderr_has "names the entry" 'small/alice\.txt: already exists; use -f'
printf 'changed' >x3/small/zero
run 0 "-f extracts over existing files" mbz -xf -C x3 small.tar.mbz
# (libarchive leaves the mode and times of directories that exist alone)
if diff -r --no-dereference small x3/small >/dev/null 2>&1; then ok "overwritten files are the originals"; else fail "-f extraction differs"; fi

# -c writes the archive to standard output; it is a plain tar inside; the output
# does not depend on the thread count.
run 0 "mbzip -rc DIR > file" sh -c '"$MBZIP" -1 -T1 -rc small >stdout.tar.mbz'
same "-c -T1 gives the same bytes as -T2" small.tar.mbz stdout.tar.mbz
run 0 "mbzip -dc gives a tar stream" sh -c '"$MBZIP" -dc small.tar.mbz >small.tar'
if tar -tf small.tar >/dev/null 2>&1; then ok "decompressed archive is a tar"; else fail "not a tar"; fi

# A single file and errors.
run 0 "mbzip -r FILE" mbz -1 -T2 -r small/zero
exists "FILE.tar.mbz" small/zero.tar.mbz
rm -f small/zero.tar.mbz
run 1 "missing operand" mbz -1 -r no-such-dir
stderr_has "names it" 'no-such-dir: No such file'
run 1 "-r on . needs a name" mbz -1 -r .
mkdir x5
run 1 "-x on a damaged archive" sh -c 'head -c 2000 small.tar.mbz >bad.tar.mbz; "$MBZIP" -x -C x5 bad.tar.mbz'
stderr_has "says the stream is truncated" 'truncated'
run 1 "-x on a non-tar" sh -c 'printf "hello world\n" | "$MBZIP" -1 >hello.mbz; "$MBZIP" -x -C x5 hello.mbz'
run 1 "-C needs -x" mbz -1 -r -C x5 small
run 1 "-C directory must exist" mbz -x -C no-such-dir small.tar.mbz
run 1 "-x with -c" mbz -xc small.tar.mbz
finish
