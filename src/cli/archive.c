/*
 * archive.c - directory archives: mbzip -r (create, extract, list, test) and
 * mbzip --repack, with libarchive. This file: the entry point (archive_operand) and
 * helpers; archive_pipe.c, archive_write.c and archive_read.c hold the rest
 * (archive_impl.h).
 *
 * The archive is a pax (restricted) tar stream compressed as one mbzip frame, so
 * `mbzip -r DIR` makes DIR.tar.mbz that `tar -I mbzip -xf` reads, and an archive
 * made by `tar -I mbzip -cf` extracts with `mbzip -x`.
 *
 * Neither side ever holds the tar stream: libarchive and libmbz run at the same
 * time in two threads joined by a bounded in-memory pipe (struct pipe, 1 MiB).
 *   create/repack: thread = libarchive writer -> pipe -> main = mbz_compress_stream
 *                  -> temporary output file (fileops.c: tmp_create/commit/discard)
 *   extract/list:  thread = mbz_decompress_stream -> pipe -> main = libarchive
 *                  reader (-> archive_write_disk for extraction)
 * An in-memory pipe rather than pipe(2): no descriptors or SIGPIPE to manage, and
 * either side can end the other with a flag (a failed compressor closes the read
 * end, the producer's next write fails; a failed reader closes it too).
 * The worker thread blocks SIGINT/SIGTERM/SIGHUP, so fileops.c's handler (which
 * removes the temporary output) runs in the main thread.
 *
 * Extraction uses libarchive's secure flags (no "..", no absolute paths, no
 * writing through symbolic links), never overwrites an existing file without -f,
 * restores owners only when run as root, keeps only user.* extended attributes,
 * and refuses device nodes unless run as root. A refused entry is an error
 * (exit 1, naming the entry); extraction goes on with the next entry.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "archive_impl.h"

/* ------------------------------------------------------------------ helpers */

/* Pathnames in archives are UTF-8 in pax headers. In the C locale libarchive would
 * complain about every non-ASCII name; take names as UTF-8 bytes then, as GNU tar
 * does. Another locale (say Latin-1) is used as it is. */
void archive_locale(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    if (cs && (strcmp(cs, "ANSI_X3.4-1968") == 0 || strcmp(cs, "ASCII") == 0)) {
        if (!setlocale(LC_CTYPE, "C.UTF-8"))
            setlocale(LC_CTYPE, "C.utf8");
    }
}

int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

const char *aerr(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "unknown libarchive error";
}

const char *entry_name(struct archive_entry *e)
{
    const char *s = archive_entry_pathname(e);
    return s ? s : "(unnamed entry)";
}

/* ------------------------------------------------------------------ dispatch */

void archive_operand(const struct options *opt, const char *name)
{
    archive_locale();
    if (opt->repack)
        repack_file(opt, name);
    else if (opt->mode == MODE_COMPRESS)
        create_archive(opt, name);
    else
        read_operand(opt, name);
}
