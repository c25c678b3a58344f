/*
 * cli.h - internals shared by the parts of the mbzip command-line tool.
 *
 * main.c      options, usage, version, dispatch
 * fileops.c   one operand: names, checks, temporary output, metadata, signals
 * list.c      the -l table
 * range.c     --offset/--length: one range of the decompressed content
 * io.c        fd callbacks for libmbz, messages and the exit status, progress line
 * archive*.c  -r/-x/--repack: tar archives of directories (libarchive)
 * bench.c     -b: in-memory benchmark (mbzip -b1 -e9 FILE...)
 * explain.c   --explain: HTML page of what each byte cost
 *
 * main.c parses the command line into a struct options, which every other part
 * receives as `const struct options *opt`: there is no global option state. What
 * is process-wide is what belongs to the process: stderr messages and the exit
 * status they build up (io.c), the temporary output file and signals (fileops.c).
 */
#ifndef MBZ_CLI_H
#define MBZ_CLI_H

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include "mbz.h"

#define PROGNAME "mbzip"

enum cli_mode { MODE_COMPRESS, MODE_DECOMPRESS, MODE_TEST, MODE_LIST, MODE_BENCH, MODE_EXPLAIN };

/* The command line as main.c parsed it: read-only everywhere else, passed as
 * `const struct options *opt` to what needs it. */
struct options {
    enum cli_mode mode;
    int to_stdout;          /* -c */
    int keep;               /* -k */
    int force;              /* -f */
    int verbose;            /* -v count */
    int quiet;              /* -q count */
    int level;              /* 0 = library default */
    int threads;            /* -1 = library default, 0 = all CPUs */
    const char *suffix;     /* -S, default MBZ_SUFFIX */
    int suffix_given;
    const char *model_path; /* --model or MBZIP_MODEL */
    int no_mix;             /* --no-mix: code with the model alone (no mixing stage) */
    int index;              /* --index 1, --no-index 0, -1: when it can be of use (fileops.c) */
    mbz_model *model;       /* loaded model_path */
    int archive;            /* -r, --archive (-x: extract) */
    int repack;             /* --repack */
    const char *dir;        /* -C DIR: extract there */
    int bench_first;        /* -b[LEVEL]: first level (0 = -# or the default) */
    int bench_last;         /* -e LEVEL: last level (0 = bench_first) */
    int bench_runs;         /* -i N: timed runs per file and level (median) */
    int csv;                /* --csv */
    const char *output;     /* -o FILE (--explain) */
    int range;              /* --offset/--length given: write that range (range.c) */
    uint64_t range_offset;  /* --offset (default 0) */
    uint64_t range_length;  /* --length (default: to the end) */
    char **members;         /* -x/-l/-t with -r: the operands after the archive */
    int n_members;
};

/* ---------------------------------------------------------------- io.c */

/* Messages and the exit status they build up (process-wide, as stderr is):
 * msg_init starts over, with warnings shown or not (-q); msg_exit_status is 0, 1
 * (an error was reported) or 2 (a warning, and no error). */
void msg_init(int quiet);
int msg_exit_status(void);
/* "mbzip: NAME: text" on stderr; sets the exit status to 1. name may be NULL. */
void msg_error(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same for warnings: printed unless -q, exit status 2 unless an error occurred. */
void msg_warn(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Warn that `frames` seek indexes did not check out (mbz_stats, mbz_seekable_info). */
void warn_index_damaged(const char *name, uint64_t frames);
/* Report a failed library call on NAME (uses err->msg). */
void msg_mbz(const char *name, int rc, const mbz_error *err);

/* A file descriptor for libmbz's callbacks. */
struct fdio {
    int fd;
    uint64_t count;
};
long long fdio_read(void *user, void *buf, size_t n);
/* A regular file read at offsets (mbz_pread_fn): the stream starts at `base` (standard
 * input may have been read in part) and has `size` bytes. file_at_init fills it for
 * fd, or returns -1 when fd is not a regular file. */
struct file_at {
    int fd;
    uint64_t base, size;
};
long long file_pread(void *user, void *buf, size_t n, uint64_t off);
int file_at_init(struct file_at *f, int fd, int is_stdin);
int fdio_write(void *user, const void *buf, size_t n);

/* The progress line: shown with -v when stderr is a terminal, after the work has
 * run for a moment. `total` is the input size (0 when unknown). */
struct progress {
    const char *name;
    uint64_t total;
    int decompress;          /* show the rate of the output (uncompressed) bytes */
    int enabled;
    int shown;
    struct timespec start;
    struct timespec last;
};
/* show: -v and not -q (the line also needs stderr to be a terminal) */
void progress_init(struct progress *p, const char *name, uint64_t total, int decompress,
                   int show);
void progress_cb(void *user, uint64_t bytes_in, uint64_t bytes_out);
void progress_done(struct progress *p);

/* Ratio helpers: saving in percent (1 - out/in) and bits per input byte. */
double pct_saved(uint64_t uncompressed, uint64_t compressed);
double bits_per_byte(uint64_t uncompressed, uint64_t compressed);

/* ---------------------------------------------------------------- fileops.c */

void signals_install(void);
/* Process one operand; name "-" is standard input. */
void process_operand(const struct options *opt, const char *name);
/* Fill opts from the command line. */
void cli_options(const struct options *opt, mbz_options *o, struct progress *p);
/* The temporary output file (one at a time), removed on a signal: create it for
 * OUT (fd or -1), remove it, or rename it to OUT (replace: may replace OUT). */
int tmp_create(const char *out);
void tmp_discard(void);
int tmp_commit(const char *out, int replace);
/* tmp_commit; on failure discard the temporary and print the reason. 0 or -1. */
int tmp_commit_or_report(const char *out, int replace);
/* The one way every command writes a new file (compressed, decompressed, archives,
 * --explain pages): output_open refuses an existing OUT without -f, a directory,
 * and (same: the input's stat, or NULL) the input itself, then creates the
 * temporary file and returns its descriptor (-1 after a one-line message);
 * output_finish fsyncs, closes and renames it to OUT (0, or -1 after a message, the
 * temporary removed); output_abort closes and removes it. */
int output_open(const struct options *opt, const char *out, const char *in_name,
                const struct stat *same);
int output_finish(const struct options *opt, int ofd, const char *out);
void output_abort(int ofd);
/* The mode a new file gets (0666 & ~umask): archives and --explain pages, which
 * have no input file to copy it from. */
mode_t new_file_mode(void);
/* Refuse (1, with a message) to write compressed data to a terminal without -f. */
int output_terminal_refused(const struct options *opt);

/* ---------------------------------------------------------------- range.c */

/* mbcat --offset=N --length=M: one range of the decompressed content to stdout. */
void range_operand(const struct options *opt, const char *name);

/* ---------------------------------------------------------------- list.c */

void list_file(const struct options *opt, const char *name, int fd);
void list_totals(const struct options *opt);

/* ---------------------------------------------------------------- archive.c */

/* One operand with -r (create DIR.tar.mbz; with -d/-x extract, -l list, -t test)
 * or --repack. */
void archive_operand(const struct options *opt, const char *name);

/* ---------------------------------------------------------------- bench.c */

/* mbzip -b: benchmark the operands; returns the exit status contribution via g.status. */
void bench_files(const struct options *opt, int n, char **names);

/* ---------------------------------------------------------------- explain.c */

/* mbzip --explain FILE [-o OUT.html] */
void explain_file(const struct options *opt, const char *name);

#endif
