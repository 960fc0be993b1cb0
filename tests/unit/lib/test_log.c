/* lib/log.c: the serial console and the sinks get every line whole and in
 * order, also a line logged from an interrupt that arrives while another
 * line is being written (issue: logging from interrupt context). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>

#include <arch/irq.h>
#include <arch/power.h>
#include <lib/log.h>

#include "arch_host.h"

#define IRQ 77u

static char serial[4096];
static size_t serial_len;
static char sunk[4096];
static size_t sunk_len;
static bool raise_in_sink;

static void append(char *buf, size_t *len, const char *text, size_t n) {
  n = n < 4095 - *len ? n : 4095 - *len;
  memcpy(buf + *len, text, n);
  *len += n;
  buf[*len] = '\0';
}

static void to_serial(const char *text, size_t len, void *ctx) {
  (void)ctx;
  append(serial, &serial_len, text, len);
}

/* A console sink; the interrupt arrives while it draws. */
static void to_sink(const char *text, size_t len, void *ctx) {
  (void)ctx;
  append(sunk, &sunk_len, text, len);
  if (raise_in_sink) {
    raise_in_sink = false;
    assert_int_equal(host_irq_raise(IRQ), RL_OK);
  }
}

static unsigned handler_line;
static void handler(void *ctx) {
  (void)ctx;
  handler_line = __LINE__ + 1;
  klog(LOG_ERROR, "from the interrupt\n");
}

static const struct log_platform platform = {
    .irq_save = arch_irq_save,
    .irq_restore = arch_irq_restore,
    .halt = arch_poweroff,
};

static void test_interrupt_during_a_line(void **state) {
  (void)state;
  host_irq_reset();
  assert_int_equal(arch_irq_register(IRQ, handler, NULL), RL_OK);
  assert_int_equal(arch_irq_enable(IRQ), RL_OK);
  log_set_platform(&platform);
  log_set_serial(to_serial, NULL);
  assert_int_equal(klog_add_sink(to_sink, NULL), RL_OK);
  serial_len = sunk_len = 0;
  serial[0] = sunk[0] = '\0';
  raise_in_sink = true;
  kprintf("first line\n");
#ifdef CONFIG_LOG_TEXT
  const char *want = "first line\nerror: from the interrupt\n";
#else
  char want[64];
  snprintf(want, sizeof(want), "first line\nerror: test_log.c:%u\n",
           handler_line);
#endif
  assert_string_equal(serial, want);
  assert_string_equal(sunk, want); /* the console did not miss it */
  klog_remove_sink(to_sink, NULL);
  log_set_serial(NULL, NULL);
  log_set_platform(NULL);
  host_irq_reset();
}

/* klog_terse (what klog is without CONFIG_LOG_TEXT): the call site and
 * the arguments by kind, not the format's text; each argument evaluated
 * once. */
static int calls;
static int counted(int v) {
  calls++;
  return v;
}

static void test_terse_line(void **state) {
  (void)state;
  log_set_serial(to_serial, NULL);
  serial_len = 0;
  serial[0] = '\0';
  const char name[8] = "dev0";
  calls = 0;
  unsigned first = __LINE__ + 1;
  klog_terse(LOG_ERROR, "%s: queue %u: %d (%s) %#llx %c\n", name, 3u,
             counted(-7), "why", 0x1200ull, 'x');
  assert_int_equal(calls, 1);
  /* The line: of the call's first or last line (the compiler's choice). */
  unsigned line = 0;
  int end = 0;
  assert_int_equal(sscanf(serial, "error: test_log.c:%u%n", &line, &end), 1);
  assert_true(line == first || line == first + 1);
  assert_string_equal(serial + end, " dev0 0x3 -7 why 0x1200 120\n");
  char want[160];
  serial_len = 0;
  line = __LINE__ + 1;
  klog_terse(LOG_WARN, "no arguments\n");
#if CONFIG_LOG_LEVEL >= 1
  snprintf(want, sizeof(want), "warning: test_log.c:%u\n", line);
  assert_string_equal(serial, want);
#else
  /* Errors only: a warning prints nothing, and klog's compiles to
   * nothing (its arguments are not evaluated). */
  (void)line;
  (void)want;
  assert_int_equal(serial_len, 0);
  klog(LOG_WARN, "%d\n", counted(1));
  assert_int_equal(calls, 1);
  assert_int_equal(serial_len, 0);
#endif
  /* A long line is cut, and still ends with its newline. */
  char big[400];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  serial_len = 0;
  klog_terse(LOG_ERROR, "%s %s\n", big, big);
  assert_int_equal(serial_len, 255);
  assert_int_equal(serial[254], '\n');
  log_set_serial(NULL, NULL);
}

/* klog_later: a describing function prints now unless the log defers;
 * then when it stops, in order, or before any other line (its own lines
 * included, in their place), or at once when the queue is full. */
static unsigned printed;
static void describe(const void *ctx) {
  const char *what = ctx;
  printed++;
  kprintf("%s\n", what);
}
static void describe_and_nest(const void *ctx) {
  kprintf("outer %s\n", (const char *)ctx);
  klog_later(describe, "nested"); /* while printing: at once */
}

static void reset_serial(void) {
  serial_len = 0;
  serial[0] = '\0';
  printed = 0;
}

static void test_later_lines(void **state) {
  (void)state;
  log_set_serial(to_serial, NULL);
  reset_serial();
  klog_later(describe, "now"); /* not deferring: at once */
  assert_string_equal(serial, "now\n");

  reset_serial();
  klog_defer(true);
  klog_later(describe, "one");
  klog_later(describe, "two");
  assert_int_equal(printed, 0);
  assert_int_equal(serial_len, 0); /* nothing formatted yet */
  klog_defer(false);
  assert_string_equal(serial, "one\ntwo\n");
  klog_defer(false); /* nothing waits: nothing printed again */
  assert_int_equal(printed, 2);

  /* Another line first prints what waits, then itself. */
  reset_serial();
  klog_defer(true);
  klog_later(describe, "a");
  klog_later(describe_and_nest, "b");
  klog_later(describe, "c");
  kprintf("an error\n");
  assert_string_equal(serial, "a\nouter b\nnested\nc\nan error\n");
  klog_later(describe, "d"); /* still deferring: waits again */
  assert_string_equal(serial, "a\nouter b\nnested\nc\nan error\n");
  klog_defer(false);
  assert_string_equal(serial, "a\nouter b\nnested\nc\nan error\nd\n");

  /* A full queue: the next one prints at once, after those waiting. */
  reset_serial();
  klog_defer(true);
  static char names[KLOG_LATER_MAX + 1][4];
  for (unsigned i = 0; i <= KLOG_LATER_MAX; i++) {
    snprintf(names[i], sizeof(names[i]), "%u", i);
    klog_later(describe, names[i]);
  }
  assert_int_equal(printed, KLOG_LATER_MAX + 1);
  char want[256];
  size_t n = 0;
  for (unsigned i = 0; i <= KLOG_LATER_MAX; i++) {
    n += (size_t)snprintf(want + n, sizeof(want) - n, "%u\n", i);
  }
  assert_string_equal(serial, want);
  klog_defer(false);
  assert_int_equal(printed, KLOG_LATER_MAX + 1);
  log_set_serial(NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interrupt_during_a_line),
      cmocka_unit_test(test_terse_line),
      cmocka_unit_test(test_later_lines),
  };
  return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
