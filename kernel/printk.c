#include <arch/console.h>
#include <arch/irq.h>
#include <arch/power.h>
#include <kernel/panic.h>
#include <lib/fmt.h>
#include <ringlight/config.h>
#include <stdarg.h>

static void vprint(const char *prefix, const char *fmt, va_list ap) {
  char buf[512];
  size_t n = 0;
  if (prefix != NULL) {
    while (prefix[n] != '\0' && n < sizeof(buf) - 1) {
      buf[n] = prefix[n];
      n++;
    }
  }
  int len = rl_vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
  if (len < 0) {
    return;
  }
  n += (size_t)len < sizeof(buf) - n ? (size_t)len : sizeof(buf) - n - 1;
  arch_console_write(buf, n);
}

void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint(NULL, fmt, ap);
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
  static int panicking;
  (void)arch_irq_save();
  if (panicking++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vprint("PANIC: ", fmt, ap);
    va_end(ap);
    kprintf("\nRINGLIGHT: FAIL (panic)\n");
  }
  arch_poweroff(PANIC_EXIT_STATUS);
}
