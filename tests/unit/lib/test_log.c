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

static void handler(void *ctx) {
  (void)ctx;
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
  const char *want = "first line\nerror: from the interrupt\n";
  assert_string_equal(serial, want);
  assert_string_equal(sunk, want); /* the console did not miss it */
  klog_remove_sink(to_sink, NULL);
  log_set_serial(NULL, NULL);
  log_set_platform(NULL);
  host_irq_reset();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interrupt_during_a_line),
  };
  return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
