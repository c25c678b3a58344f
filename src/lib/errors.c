/*
 * errors.c - status strings and the one-line error messages.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

const char *mbz_strerror(int code)
{
    switch (code) {
    case MBZ_OK: return "success";
    case MBZ_ERR_IO: return "I/O error";
    case MBZ_ERR_NOMEM: return "out of memory";
    case MBZ_ERR_PARAM: return "invalid argument";
    case MBZ_ERR_BAD_MAGIC: return "not an mbzip stream";
    case MBZ_ERR_VERSION: return "unsupported version";
    case MBZ_ERR_TRUNCATED: return "truncated input";
    case MBZ_ERR_CORRUPT: return "corrupt data";
    case MBZ_ERR_CHECKSUM: return "checksum mismatch";
    case MBZ_ERR_LIMIT: return "size beyond this build's limits";
    case MBZ_ERR_MODEL_UNKNOWN: return "model not available";
    case MBZ_ERR_MODEL_INVALID: return "invalid model file";
    case MBZ_ERR_CANCELLED: return "cancelled";
    case MBZ_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

void mbz_error_clear(mbz_error *err)
{
    if (err) {
        err->code = MBZ_OK;
        err->sys_errno = 0;
        err->msg[0] = '\0';
    }
}

static void set_msg(mbz_error *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    /* one line: messages may quote names; never let a newline through */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int mbz_fail(mbz_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->sys_errno = 0;
        va_start(ap, fmt);
        set_msg(err, fmt, ap);
        va_end(ap);
    }
    return code;
}

int mbz_fail_errno(mbz_error *err, int code, int errnum, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->sys_errno = errnum;
        va_start(ap, fmt);
        set_msg(err, fmt, ap);
        va_end(ap);
        size_t len = strlen(err->msg);
        if (errnum && len < sizeof err->msg)
            snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
    }
    return code;
}
