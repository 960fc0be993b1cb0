/* lib/log.h for the fuzz targets (instead of lib/log.c): every line is
 * formatted with lib/fmt (so the code under test's format strings and arguments
 * are exercised) and dropped, unless FUZZ_VERBOSE is set in the environment
 * (then it goes to stderr). A panic is a crash: it prints and aborts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <lib/fmt.h>
#include <lib/log.h>

#include "fuzz_util.h"

static unsigned long lines;
static int verbose = -1;

bool fuzz_verbose(void) {
  if (verbose < 0) {
    const char *v = getenv("FUZZ_VERBOSE");
    verbose = v != NULL && v[0] != '\0' && v[0] != '0';
  }
  return verbose != 0;
}

unsigned long fuzz_log_lines(void) { return lines; }

static void emit(const char *prefix, const char *fmt, va_list ap) {
  char buf[512];
  int n = rl_vsnprintf(buf, sizeof(buf), fmt, ap);
  FUZZ_CHECK(n >= 0, "log line does not format: \"%s\"", fmt);
  lines++;
  if (fuzz_verbose()) {
    (void)fprintf(stderr, "%s%s", prefix, buf);
  }
}

void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("", fmt, ap);
  va_end(ap);
}

void klog_print(int level, const char *fmt, ...) {
  static const char *const prefixes[] = {"error: ", "warning: ", "", ""};
  va_list ap;
  va_start(ap, fmt);
  emit(prefixes[level & 3], fmt, ap);
  va_end(ap);
}

/* Never deferred: the describing lines format at once, so their
 * arguments are exercised with the rest. */
void klog_later(klog_later_fn fn, const void *ctx) { fn(ctx); }

void klog_defer(bool on) { (void)on; }

void panic(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  (void)fputs("PANIC: ", stderr);
  (void)vfprintf(stderr, fmt, ap);
  va_end(ap);
  abort();
}

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt,
               ...) {
  va_list ap;
  (void)fprintf(stderr, "\nfuzz invariant broken at %s:%d: %s: ", file, line,
                cond);
  va_start(ap, fmt);
  (void)vfprintf(stderr, fmt, ap);
  va_end(ap);
  (void)fputc('\n', stderr);
  abort();
}
