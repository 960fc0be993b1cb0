/* The rest of the host arch layer: interrupts, time, MMIO accessors,
 * power off and console, so tests built on it can trust it. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arch/barrier.h>
#include <arch/console.h>
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/power.h>
#include <arch/time.h>

#include "arch_host.h"

static int setup(void **state) {
  (void)state;
  host_irq_reset();
  return 0;
}

struct hits {
  int n;
  bool masked_inside;
  unsigned reraise; /* raise this irq from the handler (0: none) */
};

static void handler(void *ctx) {
  struct hits *h = ctx;
  h->n++;
  h->masked_inside = host_irq_masked();
  if (h->reraise != 0) {
    assert_int_equal(host_irq_raise(h->reraise), RL_OK);
  }
}

static void test_irq_dispatch(void **state) {
  (void)state;
  struct hits h = {0};
  assert_int_equal(host_irq_raise(33), RL_ERR_NOT_FOUND);
  assert_int_equal(host_irq_raise(HOST_IRQ_COUNT), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_irq_register(33, NULL, &h), RL_ERR_INVALID);
  assert_int_equal(arch_irq_register(HOST_IRQ_COUNT, handler, &h),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_irq_register(33, handler, &h), RL_OK);
  assert_int_equal(arch_irq_register(33, handler, &h), RL_ERR_BUSY);

  /* Disabled: pending until enabled. */
  assert_int_equal(host_irq_raise(33), RL_OK);
  assert_int_equal(h.n, 0);
  assert_true(host_irq_is_pending(33));
  assert_int_equal(arch_irq_enable(33), RL_OK);
  assert_true(host_irq_is_enabled(33));
  assert_int_equal(h.n, 1);
  assert_false(host_irq_is_pending(33));
  assert_true(h.masked_inside);
  assert_false(host_irq_masked());
  assert_int_equal(arch_irq_count(33), 1);
  assert_int_equal(host_irq_eoi_count(33), 1);

  /* Enabled: runs at once. */
  assert_int_equal(host_irq_raise(33), RL_OK);
  assert_int_equal(h.n, 2);
  assert_int_equal(arch_irq_count(33), 2);
  assert_int_equal(host_irq_eoi_count(33), 2);

  /* Masked locally: pending until restore. Nested save/restore. */
  unsigned long s1 = arch_irq_save();
  unsigned long s2 = arch_irq_save();
  assert_int_equal(host_irq_raise(33), RL_OK);
  assert_int_equal(host_irq_raise(33), RL_OK); /* one pending, not two */
  arch_irq_restore(s2);
  assert_int_equal(h.n, 2);
  arch_irq_restore(s1);
  assert_int_equal(h.n, 3);

  /* Disabled again. */
  assert_int_equal(arch_irq_disable(33), RL_OK);
  assert_int_equal(host_irq_raise(33), RL_OK);
  assert_int_equal(h.n, 3);
  assert_int_equal(arch_irq_disable(HOST_IRQ_COUNT), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_irq_enable(HOST_IRQ_COUNT), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_irq_count(HOST_IRQ_COUNT), 0);
  arch_irq_eoi(HOST_IRQ_COUNT); /* ignored */

  host_irq_reset();
  assert_int_equal(arch_irq_count(33), 0);
  assert_int_equal(host_irq_raise(33), RL_ERR_NOT_FOUND);
}

static void test_irq_local_enable(void **state) {
  (void)state;
  struct hits h = {0};
  (void)arch_irq_save();
  assert_true(host_irq_masked());
  assert_int_equal(arch_irq_register(5, handler, &h), RL_OK);
  assert_int_equal(arch_irq_enable(5), RL_OK);
  assert_int_equal(host_irq_raise(5), RL_OK);
  assert_int_equal(h.n, 0);
  arch_irq_enable_local();
  assert_int_equal(h.n, 1);
}

static void test_irq_reraise_and_idle(void **state) {
  (void)state;
  struct hits a = {0, false, 8};
  struct hits b = {0};
  assert_int_equal(arch_irq_register(7, handler, &a), RL_OK);
  assert_int_equal(arch_irq_register(8, handler, &b), RL_OK);
  assert_int_equal(arch_irq_enable(7), RL_OK);
  assert_int_equal(arch_irq_enable(8), RL_OK);
  /* Raised inside a handler: pending, taken at the next idle. */
  assert_int_equal(host_irq_raise(7), RL_OK);
  assert_int_equal(a.n, 1);
  assert_int_equal(b.n, 0);
  assert_true(host_irq_is_pending(8));
  uint64_t t0 = arch_time_ns();
  arch_idle_until(t0 + 1000000000ull); /* returns once handled */
  assert_int_equal(b.n, 1);
  assert_true(arch_time_ns() - t0 < 500000000ull);
}

static void test_irq_from_dt(void **state) {
  (void)state;
  unsigned irq = 0;
  const uint32_t plic[] = {10};
  const uint32_t gic_spi[] = {0, 3, 4};
  const uint32_t gic_ppi[] = {1, 11, 4};
  const uint32_t bad_type[] = {2, 1, 4};
  const uint32_t too_big[] = {HOST_IRQ_COUNT};
  const uint32_t spi_big[] = {0, 0xffffffffu, 4};
  assert_int_equal(arch_irq_from_dt(plic, 1, &irq), RL_OK);
  assert_int_equal(irq, 10);
  assert_int_equal(arch_irq_from_dt(gic_spi, 3, &irq), RL_OK);
  assert_int_equal(irq, 35);
  assert_int_equal(arch_irq_from_dt(gic_ppi, 3, &irq), RL_OK);
  assert_int_equal(irq, 27);
  assert_int_equal(arch_irq_from_dt(bad_type, 3, &irq), RL_ERR_BAD_FORMAT);
  assert_int_equal(arch_irq_from_dt(plic, 0, &irq), RL_ERR_BAD_FORMAT);
  assert_int_equal(arch_irq_from_dt(gic_spi, 2, &irq), RL_ERR_BAD_FORMAT);
  assert_int_equal(arch_irq_from_dt(too_big, 1, &irq), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_irq_from_dt(spi_big, 3, &irq), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_irq_from_dt(NULL, 1, &irq), RL_ERR_INVALID);
  assert_int_equal(arch_irq_from_dt(plic, 1, NULL), RL_ERR_INVALID);
  assert_int_equal(irq, 27);
}

static void test_time(void **state) {
  (void)state;
  uint64_t a = arch_time_ns();
  uint64_t b = arch_time_ns();
  assert_true(b >= a);
  /* One idle call sleeps at most about 1 ms, never past the deadline. */
  uint64_t deadline = arch_deadline_in(200000000ull);
  arch_idle_until(deadline);
  uint64_t c = arch_time_ns();
  assert_true(c - b < 100000000ull);
  assert_false(arch_deadline_passed(deadline));
  /* Looping reaches a short deadline. */
  unsigned long ticks = arch_timer_interrupts();
  deadline = arch_deadline_in(5000000ull);
  int calls = 0;
  while (!arch_deadline_passed(deadline)) {
    arch_idle_until(deadline);
    calls++;
  }
  assert_true(calls >= 1);
  assert_true(arch_time_ns() >= deadline);
  assert_true(arch_timer_interrupts() > ticks);
  /* A passed deadline returns at once. */
  arch_idle_until(0);
}

static void test_mmio_and_barriers(void **state) {
  (void)state;
  _Alignas(8) uint8_t regs[8] = {0};
  arch_mmio_write32(regs, 0x11223344u);
  assert_int_equal(regs[0], 0x44); /* little-endian */
  assert_int_equal(regs[3], 0x11);
  assert_int_equal(arch_mmio_read32(regs), 0x11223344u);
  arch_mmio_write16(regs + 4, 0xbeef);
  assert_int_equal(arch_mmio_read16(regs + 4), 0xbeef);
  assert_int_equal(arch_mmio_read8(regs + 4), 0xef);
  arch_mmio_write8(regs + 7, 0x5a);
  assert_int_equal(regs[7], 0x5a);
  arch_mb();
  arch_rmb();
  arch_wmb();
  arch_dma_mb();
  arch_dma_rmb();
  arch_dma_wmb();
  arch_compiler_barrier();
}

static void poweroff_7(void) { arch_poweroff(7); }
static void poweroff_0(void) { arch_poweroff(0); }

/* A registered window answers MMIO accesses with its callbacks (offset
 * from its base, width in bytes); everything else stays memory; the
 * window goes when unregistered. */
struct window_log {
  size_t off;
  unsigned width;
  uint32_t value;
  int reads, writes;
};

static uint32_t window_read(void *ctx, size_t off, unsigned width) {
  struct window_log *l = ctx;
  l->reads++;
  l->off = off;
  l->width = width;
  return 0x11223344u;
}

static void window_write(void *ctx, size_t off, unsigned width, uint32_t v) {
  struct window_log *l = ctx;
  l->writes++;
  l->off = off;
  l->width = width;
  l->value = v;
}

static void test_mmio_window(void **state) {
  (void)state;
  static uint32_t regs[128];
  static uint32_t plain[4];
  struct window_log l = {0};
  uint8_t *base = (uint8_t *)regs;
  assert_int_equal(
      host_mmio_register(base, sizeof(regs), window_read, window_write, &l),
      RL_OK);
  assert_int_equal(
      host_mmio_register(base + 16, 4, window_read, window_write, &l),
      RL_ERR_BUSY);
  assert_int_equal(arch_mmio_read32(base + 0x70), 0x11223344u);
  assert_int_equal(l.off, 0x70);
  assert_int_equal(l.width, 4);
  assert_int_equal(arch_mmio_read8(base + 3), 0x44); /* truncated */
  assert_int_equal(l.width, 1);
  arch_mmio_write16(base + 0x102, 0xbeef);
  assert_int_equal(l.writes, 1);
  assert_int_equal(l.off, 0x102);
  assert_int_equal(l.width, 2);
  assert_int_equal(l.value, 0xbeef);
  assert_int_equal(regs[0x100 / 4], 0); /* memory untouched */
  arch_mmio_write32(plain, 7);          /* outside: plain memory */
  assert_int_equal(plain[0], 7);
  assert_int_equal(host_mmio_unregister(base), RL_OK);
  assert_int_equal(host_mmio_unregister(base), RL_ERR_NOT_FOUND);
  arch_mmio_write32(base + 8, 5);
  assert_int_equal(regs[2], 5);
  assert_int_equal(l.writes, 1);
}

/* The idle hook runs at every arch_idle_until; an enabled interrupt
 * pending while local interrupts are masked ends the idle at once. */
static void idle_work(void *ctx) { (*(int *)ctx)++; }

static void test_idle_hook(void **state) {
  (void)state;
  int runs = 0;
  struct hits h = {0};
  host_time_virtual(true);
  host_idle_hook(idle_work, &runs);
  arch_idle_until(arch_time_ns() + 1000);
  assert_int_equal(runs, 1);
  assert_int_equal(arch_irq_register(9, handler, &h), RL_OK);
  assert_int_equal(arch_irq_enable(9), RL_OK);
  unsigned long flags = arch_irq_save();
  assert_int_equal(host_irq_raise(9), RL_OK);
  assert_int_equal(h.n, 0);
  uint64_t t0 = arch_time_ns();
  arch_idle_until(t0 + 1000000000ull);
  assert_int_equal(arch_time_ns(), t0); /* woke, no time passed */
  assert_int_equal(runs, 2);
  arch_irq_restore(flags);
  assert_int_equal(h.n, 1);
  host_idle_hook(NULL, NULL);
  arch_idle_until(arch_time_ns() + 1000);
  assert_int_equal(runs, 2);
  host_time_virtual(false);
}

static void test_poweroff(void **state) {
  (void)state;
  void (*fns[])(void) = {poweroff_0, poweroff_7};
  int want[] = {0, 7};
  for (size_t i = 0; i < 2; i++) {
    (void)fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      fns[i]();
      _exit(99); /* not reached */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), want[i]);
  }
}

static void test_console(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  (void)fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    if (dup2(fds[1], STDOUT_FILENO) < 0) {
      _exit(1);
    }
    arch_console_putc('>');
    arch_console_write("hello\nworld", 11);
    arch_poweroff(0); /* flushes */
  }
  close(fds[1]);
  char buf[64] = {0};
  size_t got = 0;
  ssize_t n;
  while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0) {
    got += (size_t)n;
  }
  close(fds[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_string_equal(buf, ">hello\nworld");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_irq_dispatch, setup),
      cmocka_unit_test_setup(test_irq_local_enable, setup),
      cmocka_unit_test_setup(test_irq_reraise_and_idle, setup),
      cmocka_unit_test_setup(test_irq_from_dt, setup),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_mmio_and_barriers),
      cmocka_unit_test_setup(test_mmio_window, setup),
      cmocka_unit_test_setup(test_idle_hook, setup),
      cmocka_unit_test(test_poweroff),
      cmocka_unit_test(test_console),
  };
  return cmocka_run_group_tests_name("arch_host", tests, NULL, NULL);
}
