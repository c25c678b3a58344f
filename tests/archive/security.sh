#!/bin/sh
# Hostile archives (made with python3's tarfile, compressed with mbzip) are refused
# by mbzip -x: ".." entries (zip-slip), absolute paths, writing through a symbolic
# link, hard links out of the target, device nodes when not root. Each refusal is
# an error (exit 1) naming the entry; nothing is written outside the target.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/archive/lib.sh"

mkdir -p jail/target outside
echo victim >jail/victim
python3 - "$T" <<'PY' || exit 99
import io, sys, tarfile
T = sys.argv[1]
def add(t, name, data=b"pwned\n", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)
def make(name, build):
    with tarfile.open(name, "w", format=tarfile.PAX_FORMAT) as t:
        build(t)
make("slip.tar", lambda t: (add(t, "ok.txt"), add(t, "../evil.txt"),
                            add(t, "a/../../evil2.txt"), add(t, "../../evil3.txt")))
make("abs.tar", lambda t: (add(t, T + "/outside/abs.txt"), add(t, "ok.txt")))
make("symlink.tar", lambda t: (add(t, "lnk", type=tarfile.SYMTYPE, linkname=T + "/outside"),
                               add(t, "lnk/through.txt")))
make("symlink-up.tar", lambda t: (add(t, "up", type=tarfile.SYMTYPE, linkname=".."),
                                  add(t, "up/victim", data=b"overwritten\n")))
make("hardlink.tar", lambda t: (add(t, "h1", type=tarfile.LNKTYPE, linkname="../victim"),
                                add(t, "h2", type=tarfile.LNKTYPE, linkname=T + "/jail/victim"),
                                add(t, "h1", data=b"overwritten\n")))
make("device.tar", lambda t: (add(t, "null", type=tarfile.CHRTYPE, devmajor=1, devminor=3),
                              add(t, "disk", type=tarfile.BLKTYPE, devmajor=8, devminor=0),
                              add(t, "after.txt")))
PY
for a in slip abs symlink symlink-up hardlink device; do
    "$MBZIP" -1 -T2 -q "$a.tar" || fail "compress $a.tar"
done
snapshot "$T" before

# extract ARCHIVE: into a fresh jail/target
extract() {
    rm -rf jail/target && mkdir jail/target
    run 1 "$1 refused" mbz -x -C jail/target "$1.tar.mbz"
}
extract slip
stderr_has "zip-slip: names the entry" '\.\./evil\.txt: .*\.\.'
stderr_has "zip-slip: names the nested entry" 'a/\.\./\.\./evil2\.txt'
exists "zip-slip: safe entries are extracted" jail/target/ok.txt
absent "zip-slip: nothing above the target" jail/evil.txt
absent "zip-slip: nothing two levels up" evil3.txt

extract abs
stderr_has "absolute path: names the entry" 'outside/abs\.txt: .*bsolute'
absent "absolute path: nothing written there" outside/abs.txt
exists "absolute path: safe entries are extracted" jail/target/ok.txt

extract symlink
stderr_has "write through a symbolic link: refused" 'lnk/through\.txt: .*symlink'
absent "nothing written through the link" outside/through.txt

extract symlink-up
stderr_has "write through a '..' link: refused" 'up/victim'
check "the file outside is untouched" [ "$(cat jail/victim)" = victim ]

extract hardlink
stderr_has "hard link out of the target: refused" 'h1: '
stderr_has "hard link to an absolute path: refused" 'h2: '
check "the hard-link target is untouched" [ "$(cat jail/victim)" = victim ]

snapshot "$T" after
grep -v '^\./jail/target' before | grep -Ev '^\./(before|after|\.stdout|\.stderr)$' >b.lst
grep -v '^\./jail/target' after | grep -Ev '^\./(before|after|\.stdout|\.stderr)$' >a.lst
if diff b.lst a.lst >/dev/null; then ok "nothing appeared outside the target"; else
    fail "files appeared outside the target: $(diff b.lst a.lst | grep '^>' | head -5 | tr '\n' ' ')"
fi

# Device nodes: refused when not root. We may be root: then run as nobody.
if [ "$(id -u)" -ne 0 ]; then
    extract device
    stderr_has "device node refused, named" "null: device node not extracted"
    exists "other entries still extracted" jail/target/after.txt
    absent "no device node" jail/target/null
elif command -v setpriv >/dev/null 2>&1 && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    rm -rf dev && mkdir dev && chmod 777 dev && chmod o+x "$T" && cp device.tar.mbz dev/ && chmod 644 dev/device.tar.mbz
    run 1 "device node refused (as nobody)" setpriv --reuid=65534 --regid=65534 --clear-groups "$MBZIP" -x -C "$T/dev" "$T/dev/device.tar.mbz"
    stderr_has "device node refused, named" "null: device node not extracted"
    stderr_has "block device refused, named" "disk: device node not extracted"
    exists "other entries still extracted" dev/after.txt
    absent "no device node" dev/null
else
    skip_check "device nodes: running as root and cannot switch to nobody"
fi
finish
