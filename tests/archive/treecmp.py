#!/usr/bin/env python3
"""treecmp.py A B: compare two directory trees as an archive round trip must keep
them: the same names, types, contents, permission bits, modification times (to the
second), symbolic link targets, and hard-link groups (names that share an inode in
A share one in B). Prints the differences; exit status 0 when there are none."""
import hashlib
import os
import stat
import sys


def walk(top):
    out = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, top)] = os.lstat(path)
    return out


def digest(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def groups(top, entries):
    by_ino = {}
    for rel, st in entries.items():
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            by_ino.setdefault(st.st_ino, set()).add(rel)
    return sorted(sorted(g) for g in by_ino.values() if len(g) > 1)


def main():
    a, b = sys.argv[1], sys.argv[2]
    ea, eb = walk(a), walk(b)
    bad = []
    for rel in sorted(set(ea) | set(eb)):
        if rel not in eb:
            bad.append("missing in %s: %s" % (b, rel))
            continue
        if rel not in ea:
            bad.append("extra in %s: %s" % (b, rel))
            continue
        sa, sb = ea[rel], eb[rel]
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
            bad.append("type differs: %s" % rel)
            continue
        if stat.S_ISLNK(sa.st_mode):
            ta, tb = os.readlink(os.path.join(a, rel)), os.readlink(os.path.join(b, rel))
            if ta != tb:
                bad.append("link target differs: %s (%s, %s)" % (rel, ta, tb))
            continue
        if stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            bad.append("mode differs: %s (%o, %o)" % (rel, stat.S_IMODE(sa.st_mode),
                                                      stat.S_IMODE(sb.st_mode)))
        if int(sa.st_mtime) != int(sb.st_mtime):
            bad.append("mtime differs: %s (%d, %d)" % (rel, sa.st_mtime, sb.st_mtime))
        if stat.S_ISREG(sa.st_mode):
            if sa.st_size != sb.st_size or digest(os.path.join(a, rel)) != digest(os.path.join(b, rel)):
                bad.append("content differs: %s" % rel)
    ga, gb = groups(a, ea), groups(b, eb)
    if ga != gb:
        bad.append("hard-link groups differ: %s, %s" % (ga, gb))
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
