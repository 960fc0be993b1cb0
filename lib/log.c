/* The log (lib/log.h): a ring of what was printed, the serial console,
 * more sinks with a replay, and panic. */
#include <lib/fmt.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <stdarg.h>

#define LOG_KEEP 8192
#define LOG_REPLAY_LINES 24

static char log_keep[LOG_KEEP]; /* ring of what was printed */
static size_t log_pos;          /* bytes ever printed */

struct sink {
  klog_sink_fn fn; /* NULL: a free entry */
  void *ctx;
};
static struct sink sinks[KLOG_MAX_SINKS];
static struct sink serial;
static const struct log_platform *platform;
static bool in_sink;

void log_set_serial(klog_sink_fn fn, void *ctx) {
  serial = (struct sink){fn, ctx};
}

void log_set_platform(const struct log_platform *p) { platform = p; }

static unsigned long lock(void) {
  return platform != NULL ? platform->irq_save() : 0;
}

static void unlock(unsigned long flags) {
  if (platform != NULL) {
    platform->irq_restore(flags);
  }
}

static void to_serial(const char *text, size_t n) {
  if (serial.fn != NULL) {
    serial.fn(text, n, serial.ctx);
  }
}

/* klog_later's queue: [later_next, later_count) waits. */
static struct {
  klog_later_fn fn;
  const void *ctx;
} later[KLOG_LATER_MAX];
static unsigned later_next, later_count;
static bool deferring, printing_later;

/* What waits, in order; the lines it prints go straight out. */
static void print_later(void) {
  if (printing_later) {
    return; /* a waiting line's own print: the next one waits for it */
  }
  printing_later = true;
  for (;;) {
    unsigned long flags = lock(); /* an interrupt's line may print too */
    if (later_next == later_count) {
      later_next = later_count = 0;
      printing_later = false;
      unlock(flags);
      return;
    }
    unsigned i = later_next++;
    unlock(flags);
    later[i].fn(later[i].ctx);
  }
}

void klog_later(klog_later_fn fn, const void *ctx) {
  unsigned long flags = lock();
  /* One given while those waiting print is printed in its place. */
  bool wait = deferring && !printing_later && later_count < KLOG_LATER_MAX;
  if (wait) {
    later[later_count].fn = fn;
    later[later_count].ctx = ctx;
    later_count++;
  }
  unlock(flags);
  if (!wait) {
    fn(ctx); /* its lines print after those waiting (emit) */
  }
}

void klog_defer(bool on) {
  deferring = on;
  if (!on) {
    print_later();
  }
}

/* With interrupts masked: a line logged from an interrupt handler comes
 * whole after the line it interrupted, and reaches every sink. Lines
 * waiting in klog_later's queue go first. */
static void emit(const char *text, size_t n) {
  if (later_next < later_count) {
    print_later();
  }
  unsigned long flags = lock();
  to_serial(text, n);
  for (size_t i = 0; i < n; i++) {
    log_keep[(log_pos + i) % LOG_KEEP] = text[i];
  }
  log_pos += n;
  if (!in_sink) { /* a sink that prints does not recurse */
    in_sink = true;
    for (size_t i = 0; i < KLOG_MAX_SINKS; i++) {
      if (sinks[i].fn != NULL) {
        sinks[i].fn(text, n, sinks[i].ctx);
      }
    }
    in_sink = false;
  }
  unlock(flags);
}

/* The end of the kept log to one sink. */
static void replay(klog_sink_fn fn, void *ctx) {
  size_t kept = log_pos < LOG_KEEP ? log_pos : LOG_KEEP;
  size_t start = log_pos - kept;
  /* Only the last LOG_REPLAY_LINES lines: a console shows no more, and
   * drawing (and scrolling) the rest costs boot time. */
  unsigned lines = 0;
  for (size_t i = kept; i > 0; i--) {
    if (log_keep[(start + i - 1) % LOG_KEEP] == '\n' && i != kept &&
        ++lines == LOG_REPLAY_LINES) {
      start += i;
      kept -= i;
      break;
    }
  }
  bool was_in_sink = in_sink;
  in_sink = true;
  for (size_t i = 0; i < kept;) {
    size_t at = (start + i) % LOG_KEEP;
    size_t run = RL_MIN(kept - i, LOG_KEEP - at);
    fn(log_keep + at, run, ctx);
    i += run;
  }
  in_sink = was_in_sink;
}

rl_status klog_add_sink(klog_sink_fn fn, void *ctx) {
  if (fn == NULL) {
    return RL_ERR_INVALID;
  }
  unsigned long flags = lock();
  struct sink *free_entry = NULL;
  for (size_t i = 0; i < KLOG_MAX_SINKS; i++) {
    if (sinks[i].fn == fn && sinks[i].ctx == ctx) {
      unlock(flags);
      return RL_OK; /* already there */
    }
    if (sinks[i].fn == NULL && free_entry == NULL) {
      free_entry = &sinks[i];
    }
  }
  if (free_entry == NULL) {
    unlock(flags);
    return RL_ERR_NO_SPACE;
  }
  replay(fn, ctx);
  free_entry->fn = fn;
  free_entry->ctx = ctx;
  unlock(flags);
  return RL_OK;
}

void klog_remove_sink(klog_sink_fn fn, const void *ctx) {
  unsigned long flags = lock();
  for (size_t i = 0; i < KLOG_MAX_SINKS; i++) {
    if (sinks[i].fn == fn && sinks[i].ctx == ctx) {
      sinks[i] = (struct sink){NULL, NULL};
    }
  }
  unlock(flags);
}

static size_t vformat(char *buf, size_t size, const char *prefix,
                      const char *fmt, va_list ap) {
  size_t n = 0;
  if (prefix != NULL) {
    int w = rl_snprintf(buf, size, "%s", prefix);
    n = w > 0 ? RL_MIN((size_t)w, size - 1) : 0;
  }
  int len = rl_vsnprintf(buf + n, size - n, fmt, ap);
  if (len < 0) {
    return 0;
  }
  return n + ((size_t)len < size - n ? (size_t)len : size - n - 1);
}

static void vprint(const char *prefix, const char *fmt, va_list ap) {
  char buf[512];
  size_t n = vformat(buf, sizeof(buf), prefix, fmt, ap);
  if (n > 0) {
    emit(buf, n);
  }
}

void kprintf_serial(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  size_t n = vformat(buf, sizeof(buf), NULL, fmt, ap);
  va_end(ap);
  unsigned long flags = lock();
  to_serial(buf, n);
  unlock(flags);
}

void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint(NULL, fmt, ap);
  va_end(ap);
}

void klog_print(int level, const char *fmt, ...) {
  static const char *const prefixes[] = {"error: ", "warning: ", "", ""};
  if (level > CONFIG_LOG_LEVEL) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vprint(prefixes[level & 3], fmt, ap);
  va_end(ap);
}

void klog_code(int level, const char *file, unsigned line, uint32_t kinds,
               ...) {
  static const char *const prefixes[] = {"error: ", "warning: ", "", ""};
  if (level > CONFIG_LOG_LEVEL) {
    return;
  }
  char buf[256];
  int w =
      rl_snprintf(buf, sizeof(buf), "%s%s:%u", prefixes[level & 3], file, line);
  size_t n = w > 0 ? RL_MIN((size_t)w, sizeof(buf) - 2) : 0;
  va_list ap;
  va_start(ap, kinds);
  for (unsigned i = 0; i < (kinds & 15u); i++) {
    /* va_start is above: the analyzer loses it on aarch64's va_list. */
    uint64_t v =
        va_arg(ap, uint64_t); // NOLINT(clang-analyzer-valist.Uninitialized)
    unsigned kind = (kinds >> (4 + 2 * i)) & 3u;
    if (kind == KLOG_STRING_) {
      w = rl_snprintf(buf + n, sizeof(buf) - 1 - n, " %s",
                      (const char *)(uintptr_t)v);
    } else if (kind == KLOG_SIGNED_) {
      w = rl_snprintf(buf + n, sizeof(buf) - 1 - n, " %lld", (long long)v);
    } else {
      w = rl_snprintf(buf + n, sizeof(buf) - 1 - n, " %#llx",
                      (unsigned long long)v);
    }
    n += w > 0 ? RL_MIN((size_t)w, sizeof(buf) - 2 - n) : 0;
  }
  va_end(ap);
  buf[n++] = '\n';
  emit(buf, n);
}

void panic(const char *fmt, ...) {
  static int panicking;
  (void)lock();
  if (panicking++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vprint("PANIC: ", fmt, ap);
    va_end(ap);
    kprintf("\nRINGLIGHT: FAIL (panic)\n");
  }
  if (platform != NULL) {
    platform->halt(PANIC_EXIT_STATUS);
  }
  __builtin_trap();
}
