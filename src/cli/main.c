/*
 * main.c - mbzip, mbunzip, mbcat: compress and decompress files with libmbz.
 *
 * Conventions follow gzip and xz: FILE -> FILE.mbz and back, no operand or "-" means
 * standard input to standard output, exit status 0 (ok), 1 (error), 2 (warning).
 * The manual page is man/mbzip.1; keep usage() in step with it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
"Usage: mbzip [OPTION]... [FILE]...\n"
"Compress or decompress FILEs with a learned byte model (default: compress\n"
"FILE to FILE" MBZ_SUFFIX " and remove FILE). mbunzip is mbzip -d, mbcat is mbzip -dc.\n"
"With no FILE, or when FILE is -, read standard input and write standard output.\n"
"\n"
"  -z, --compress        compress (the default)\n"
"  -d, --decompress      decompress (also --uncompress)\n"
"  -t, --test            decompress and verify, write nothing\n"
"  -l, --list            list compressed files: sizes, ratio, blocks, model\n"
"  -c, --stdout          write to standard output and keep input files\n"
"                        (also --to-stdout)\n"
"  -k, --keep            keep (do not delete) input files\n"
"  -f, --force           overwrite outputs, follow symbolic links, write or read\n"
"                        compressed data on a terminal\n"
"  -1 .. -9              level: 1 is fastest, 9 compresses best (default %d;\n"
"                        9 runs the model twice per byte, at half the speed);\n"
"                        --fast is -1, --best is -9\n"
"  -T, --threads=N       use N threads (0 = one per CPU, the default)\n"
"  -S, --suffix=SUF      use suffix SUF instead of " MBZ_SUFFIX "\n"
"      --model=FILE      use the model in FILE (also MBZIP_MODEL=FILE)\n"
"      --list-models     list the models a frame can name: built in, and\n"
"                        FINGERPRINT.mbzm files in the model path\n"
"      --no-mix          code with the model alone, without the adaptive mixing\n"
"                        stage (for measurements; mbunzip reads both)\n"
"      --index, --no-index  write a seek index after each frame, so that\n"
"                        --offset, -l and -x MEMBER read only what they need\n"
"                        (default: when the output is a file or the input's\n"
"                        size is known and over 1 MiB; always for archives)\n"
"  -v, --verbose         report ratio and bits/byte per file; show progress\n"
"  -q, --quiet           suppress warnings\n"
"  -r, --archive         archives: compress each DIR (or FILE) into DIR.tar" MBZ_SUFFIX ";\n"
"                        with -d extract, -l list entries, -t test an archive\n"
"  -x, --extract         extract archives (same as -d -r); -x ARCHIVE MEMBER...\n"
"                        extracts only those members (-l -r lists them)\n"
"  -C, --directory=DIR   extract into DIR (default: the current directory)\n"
"      --repack          convert archives (.tar.gz, .zip, ...) to .tar" MBZ_SUFFIX "\n"
"  -b[LEVEL]             benchmark FILEs in memory at LEVEL (default: -# or %d),\n"
"                        verifying each round trip; -e LEVEL: up to LEVEL;\n"
"                        -i N: median of N runs (default 3); --csv: CSV output\n"
"      --offset=N        with -dc (mbcat): write the decompressed bytes from\n"
"                        offset N (k/M/G/T suffixes: KiB...); from a file only\n"
"                        the blocks that hold them are decoded\n"
"      --length=M        with -dc (mbcat): write at most M bytes\n"
"      --explain FILE    write an HTML page of what each byte of FILE cost\n"
"                        (first 1 MiB) to -o OUT.html (default: stdout)\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and the default model, and exit\n"
"\n"
"Exit status: 0 if OK, 1 if an error occurred, 2 if there were warnings.\n"
"Environment: MBZIP_MODEL (model file), MBZIP_MODEL_PATH (directories of\n"
"  earlier models, before the installed one), MBZIP_KERNEL=scalar|avx2|avx512,\n"
"  MBZIP_BATCH=1..8 (blocks a decoding thread steps together; default 1).\n"
"Examples: mbzip -k FILE; mbcat FILE" MBZ_SUFFIX " | less; tar -I mbzip -cf d.tar" MBZ_SUFFIX " DIR\n"
"See mbzip(1) for more.\n",
            MBZ_LEVEL_DEFAULT, MBZ_LEVEL_DEFAULT);
}

static void version(const struct options *opt)
{
    const mbz_model *m = mbz_model_default();
    printf("mbzip %s (libmbz %s)\n", PACKAGE_VERSION, MBZ_VERSION_STRING);
    printf("default model: %016" PRIx64 " %s\n", mbz_model_fingerprint(m),
           mbz_model_describe(m));
    if (mbz_model_fast() != m)
        printf("fast model (levels 2-4): %016" PRIx64 " %s\n",
               mbz_model_fingerprint(mbz_model_fast()), mbz_model_describe(mbz_model_fast()));
    if (opt->model)
        printf("selected model: %016" PRIx64 " %s (%s)\n", mbz_model_fingerprint(opt->model),
               mbz_model_describe(opt->model), opt->model_path);
}

/* --list-models: every model a frame can name and this mbzip can find */
static void list_one_model(void *user, const char *path, uint64_t fp, const mbz_model *m)
{
    (void)user;
    if (!m)
        printf("%016" PRIx64 "  (invalid: not a model with this fingerprint)  %s\n", fp, path);
    else
        printf("%016" PRIx64 "  %s  %s%s\n", fp, mbz_model_describe(m), path ? path : "built in",
               path ? "" : m == mbz_model_default() ? ", default"
                    : m == mbz_model_fast() ? ", fast (levels 2-4)" : "");
}

static void list_models(void)
{
    const char *env = getenv("MBZIP_MODEL_PATH");
    printf("model path: %s%s%s\n", env && *env ? env : "", env && *env && *mbz_model_dir() ? ":" : "",
           mbz_model_dir());
    mbz_model_list(list_one_model, NULL);
}

static void try_help(void)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", PROGNAME);
    exit(1);
}

static int parse_threads(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 4096) {
        fprintf(stderr, "%s: invalid number of threads: '%s'\n", PROGNAME, s);
        try_help();
    }
    return (int)v;
}

enum { OPT_MODEL = 256, OPT_FAST, OPT_BEST, OPT_CSV, OPT_EXPLAIN, OPT_REPACK, OPT_NO_MIX,
       OPT_LIST_MODELS, OPT_OFFSET, OPT_LENGTH, OPT_INDEX, OPT_NO_INDEX };

/* A byte count for --offset / --length: decimal, with an optional binary suffix
 * k, M, G or T (KiB, MiB, GiB, TiB; "KiB"/"MiB"/... also accepted). */
static uint64_t parse_bytes(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    if (end != s && *end) {
        const char *u = "kMGT", *p = strchr(u, *end == 'K' ? 'k' : *end);
        if (p && *end) {
            shift = 10 * (int)(p - u + 1);
            end++;
            if (strcmp(end, "iB") == 0)
                end += 2;
        }
    }
    if (errno || end == s || *end || *s == '-' || (shift && v > (UINT64_MAX >> shift))) {
        fprintf(stderr, "%s: invalid byte count for %s: '%s'\n", PROGNAME, opt, s);
        try_help();
    }
    return (uint64_t)v << shift;
}

/* A level for -b / -e (bench.c), 1..9. */
static int parse_level(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < MBZ_LEVEL_MIN || v > MBZ_LEVEL_MAX) {
        fprintf(stderr, "%s: invalid level for %s: '%s'\n", PROGNAME, opt, s);
        try_help();
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "compress", no_argument, NULL, 'z' },
        { "decompress", no_argument, NULL, 'd' },
        { "uncompress", no_argument, NULL, 'd' },
        { "stdout", no_argument, NULL, 'c' },
        { "to-stdout", no_argument, NULL, 'c' },
        { "keep", no_argument, NULL, 'k' },
        { "force", no_argument, NULL, 'f' },
        { "test", no_argument, NULL, 't' },
        { "list", no_argument, NULL, 'l' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "silent", no_argument, NULL, 'q' },
        { "threads", required_argument, NULL, 'T' },
        { "suffix", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "model", required_argument, NULL, OPT_MODEL },
        { "fast", no_argument, NULL, OPT_FAST },
        { "best", no_argument, NULL, OPT_BEST },
        { "bench", optional_argument, NULL, 'b' },
        { "csv", no_argument, NULL, OPT_CSV },
        { "explain", no_argument, NULL, OPT_EXPLAIN },
        { "output", required_argument, NULL, 'o' },
        { "archive", no_argument, NULL, 'r' },
        { "extract", no_argument, NULL, 'x' },
        { "directory", required_argument, NULL, 'C' },
        { "repack", no_argument, NULL, OPT_REPACK },
        { "no-mix", no_argument, NULL, OPT_NO_MIX },
        { "index", no_argument, NULL, OPT_INDEX },
        { "no-index", no_argument, NULL, OPT_NO_INDEX },
        { "list-models", no_argument, NULL, OPT_LIST_MODELS },
        { "offset", required_argument, NULL, OPT_OFFSET },
        { "length", required_argument, NULL, OPT_LENGTH },
        { NULL, 0, NULL, 0 },
    };
    int help = 0, show_version = 0, show_models = 0;
    struct options opts;
    memset(&opts, 0, sizeof opts);

    opts.mode = MODE_COMPRESS;
    opts.threads = -1;
    opts.index = -1;
    opts.suffix = MBZ_SUFFIX;
    opts.range_length = UINT64_MAX;

    /* mbunzip = mbzip -d, mbcat = mbzip -dc (by the name we were called with). */
    const char *prog = argv[0] ? strrchr(argv[0], '/') : NULL;
    prog = prog ? prog + 1 : (argv[0] ? argv[0] : PROGNAME);
    if (strncmp(prog, "mbunzip", 7) == 0) {
        opts.mode = MODE_DECOMPRESS;
    } else if (strncmp(prog, "mbcat", 5) == 0) {
        opts.mode = MODE_DECOMPRESS;
        opts.to_stdout = 1;
    }

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":123456789b::C:cde:fhi:klo:qrS:tT:vVxz", longopts, NULL)) != -1) {
        switch (c) {
        case '1': case '2': case '3': case '4': case '5':
        case '6': case '7': case '8': case '9':
            opts.level = c - '0';
            break;
        case OPT_FAST: opts.level = MBZ_LEVEL_MIN; break;
        case OPT_BEST: opts.level = MBZ_LEVEL_MAX; break;
        case 'z': opts.mode = MODE_COMPRESS; break;
        case 'd': opts.mode = MODE_DECOMPRESS; break;
        case 't': opts.mode = MODE_TEST; break;
        case 'l': opts.mode = MODE_LIST; break;
        case 'c': opts.to_stdout = 1; break;
        case 'k': opts.keep = 1; break;
        case 'f': opts.force = 1; break;
        case 'v': opts.verbose++; break;
        case 'q': opts.quiet++; break;
        case 'T': opts.threads = parse_threads(optarg); break;
        case 'S':
            if (!*optarg || strchr(optarg, '/')) {
                fprintf(stderr, "%s: invalid suffix: '%s'\n", PROGNAME, optarg);
                try_help();
            }
            opts.suffix = optarg;
            opts.suffix_given = 1;
            break;
        case 'h': help = 1; break;
        case 'V': show_version = 1; break;
        case OPT_MODEL: opts.model_path = optarg; break;
        case OPT_NO_MIX: opts.no_mix = 1; break;
        case OPT_INDEX: opts.index = 1; break;
        case OPT_NO_INDEX: opts.index = 0; break;
        case OPT_LIST_MODELS: show_models = 1; break;
        case OPT_OFFSET: opts.range = 1; opts.range_offset = parse_bytes("--offset", optarg); break;
        case OPT_LENGTH: opts.range = 1; opts.range_length = parse_bytes("--length", optarg); break;
        case 'b':
            opts.mode = MODE_BENCH;
            if (optarg)
                opts.bench_first = parse_level("-b", optarg);
            break;
        case 'e': opts.bench_last = parse_level("-e", optarg); break;
        case 'i': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000) {
                fprintf(stderr, "%s: invalid number of runs: '%s'\n", PROGNAME, optarg);
                try_help();
            }
            opts.bench_runs = (int)v;
            break;
        }
        case OPT_CSV: opts.csv = 1; break;
        case OPT_EXPLAIN: opts.mode = MODE_EXPLAIN; break;
        case 'o': opts.output = optarg; break;
        case 'r': opts.archive = 1; break;                       /* archive.c */
        case 'x': opts.archive = 1; opts.mode = MODE_DECOMPRESS; break;
        case 'C': opts.dir = optarg; break;
        case OPT_REPACK: opts.repack = 1; opts.mode = MODE_COMPRESS; break;
        case ':':
            if (optopt && optopt < 256)
                fprintf(stderr, "%s: option requires an argument -- '%c'\n", PROGNAME, optopt);
            else
                fprintf(stderr, "%s: option '%s' requires an argument\n", PROGNAME,
                        argv[optind - 1]);
            try_help();
            break;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "%s: invalid option -- '%c'\n", PROGNAME, optopt);
            else
                fprintf(stderr, "%s: unrecognized option '%s'\n", PROGNAME, argv[optind - 1]);
            try_help();
        }
    }
    if (help) {
        usage(stdout);
        return 0;
    }
    if (opts.quiet)
        opts.verbose = 0;
    msg_init(opts.quiet);
    if (opts.mode != MODE_BENCH && (opts.bench_last || opts.bench_runs || opts.csv)) {
        fprintf(stderr, "%s: -e, -i and --csv apply only to -b\n", PROGNAME);
        try_help();
    }
    if (opts.dir && !(opts.archive && opts.mode == MODE_DECOMPRESS)) {
        fprintf(stderr, "%s: -C applies only to extraction (-x)\n", PROGNAME);
        try_help();
    }
    if ((opts.archive || opts.repack) && opts.to_stdout && opts.mode != MODE_COMPRESS) {
        fprintf(stderr, "%s: -c cannot be used with -x (use -dc for the tar stream)\n", PROGNAME);
        try_help();
    }
    if (opts.mode != MODE_EXPLAIN && opts.output) {
        fprintf(stderr, "%s: -o applies only to --explain\n", PROGNAME);
        try_help();
    }
    if (opts.range && (opts.mode != MODE_DECOMPRESS || !opts.to_stdout || opts.archive)) {
        fprintf(stderr, "%s: --offset and --length apply only to decompression to standard "
                        "output (mbcat, mbzip -dc)\n", PROGNAME);
        try_help();
    }
    if (opts.mode == MODE_EXPLAIN && argc - optind != 1) {
        fprintf(stderr, "%s: --explain takes exactly one FILE\n", PROGNAME);
        try_help();
    }

    {   /* the library falls back silently (mbz.h); the user hears it from us */
        const char *k = getenv("MBZIP_KERNEL");
        if (k && *k && strcmp(k, mbz_kernel_name()) != 0 && !opts.quiet)
            fprintf(stderr, "%s: warning: MBZIP_KERNEL=%s is not available here, using %s\n",
                    PROGNAME, k, mbz_kernel_name());
    }
    if (!opts.model_path) {
        const char *env = getenv("MBZIP_MODEL");
        if (env && *env)
            opts.model_path = env;
    }
    if (opts.model_path) {
        mbz_error err;
        memset(&err, 0, sizeof err);
        int rc = mbz_model_load_file(opts.model_path, &opts.model, &err);
        if (rc != MBZ_OK) {
            msg_mbz(opts.model_path, rc, &err);
            return 1;
        }
    }
    if (show_models) {
        list_models();
        mbz_model_free(opts.model);
        return 0;
    }
    if (show_version) {
        version(&opts);
        mbz_model_free(opts.model);
        return 0;
    }

    if (opts.mode == MODE_BENCH || opts.mode == MODE_EXPLAIN) {
        if (opts.mode == MODE_BENCH)
            bench_files(&opts, argc - optind, argv + optind); /* bench.c */
        else
            explain_file(&opts, argv[optind]);                /* explain.c */
        goto finish;
    }
    signals_install();
    if (optind >= argc) {
        if (opts.archive || opts.repack)
            archive_operand(&opts, "-");
        else if (opts.range)
            range_operand(&opts, "-");
        else
            process_operand(&opts, "-");
    } else {
        if (opts.archive && !opts.repack && opts.mode != MODE_COMPRESS) {
            /* -x/-l/-t ARCHIVE [MEMBER]...: as tar, the operands after the archive
             * name members (archive_read.c) */
            opts.members = argv + optind + 1;
            opts.n_members = argc - optind - 1;
            argc = optind + 1;
        }
        for (int i = optind; i < argc; i++) {
            if (opts.archive || opts.repack)
                archive_operand(&opts, argv[i]);   /* archive.c */
            else if (opts.range)
                range_operand(&opts, argv[i]);     /* range.c */
            else
                process_operand(&opts, argv[i]);
        }
    }
    if (opts.mode == MODE_LIST && !opts.archive)
        list_totals(&opts);

finish:
    /* Report a failed write to standard output (a full disk, a closed pipe). */
    if (fflush(stdout) != 0 || (close(STDOUT_FILENO) != 0 && errno != EBADF)) {
        if (errno != EINTR)
            msg_error(NULL, "write error: %s", strerror(errno));
    }
    mbz_model_free(opts.model);
    return msg_exit_status();
}
