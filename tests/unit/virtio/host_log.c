/* kernel/panic.h for host tests: kernel/printk.c is kernel-only. Lines go
 * through the host console (stdout), formatted by lib/fmt as in the
 * kernel, so a test can capture them by redirecting stdout. panic prints
 * and aborts: no test expects one. */
#include <stdio.h>
#include <stdlib.h>

#include <arch/console.h>
#include <kernel/panic.h>
#include <lib/fmt.h>
#include <ringlight/config.h>

static void vprint(const char *prefix, const char *fmt, va_list ap) {
  char buf[1024];
  int n = rl_snprintf(buf, sizeof(buf), "%s", prefix);
  int len = rl_vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
  if (len < 0) {
    return;
  }
  size_t total = (size_t)n + (size_t)len;
  if (total > sizeof(buf) - 1) {
    total = sizeof(buf) - 1;
  }
  arch_console_write(buf, total);
}

void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("", fmt, ap);
  va_end(ap);
}

void klog(int level, const char *fmt, ...) {
  static const char *const prefixes[] = {"error: ", "warning: ", "", ""};
  if (level > CONFIG_LOG_LEVEL) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vprint(prefixes[level & 3], fmt, ap);
  va_end(ap);
}

void panic(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("PANIC: ", fmt, ap);
  va_end(ap);
  (void)fflush(stdout);
  (void)fprintf(stderr, "panic in a host test\n");
  abort();
}
