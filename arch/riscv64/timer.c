/* Time on riscv64: the time CSR counts at /cpus timebase-frequency; the
 * supervisor timer interrupt is armed through the SBI TIME extension
 * (SBI v1.0 §6, EID 0x54494D45). */
#include <arch/common/arch_common.h>
#include <arch/init.h>
#include <arch/irq.h>
#include <arch/time.h>
#include <lib/log.h>

#include "riscv.h"

#define SBI_EXT_TIME 0x54494d45ul

/* Set by start.S from a0. */
unsigned long riscv_boot_hart;

unsigned long riscv_hart_id(void) { return riscv_boot_hart; }

static uint64_t ticks(void) {
  uint64_t t;
  __asm__ volatile("rdtime %0" : "=r"(t)::"memory");
  return t;
}

uint64_t arch_time_raw(void) { return ticks(); }

static unsigned long timer_count;

unsigned long arch_timer_interrupts(void) { return timer_count; }

void riscv_timer_interrupt(void) {
  timer_count++;
  /* Disarm: the next arch_idle_until arms it again. */
  (void)sbi_call(SBI_EXT_TIME, 0, ~0ul, 0, 0);
  csr_clear(sie, SIE_STIE);
}

/* The timebase is in the device tree and waits take the timer's
 * interrupt: arch_time_init, with the rest, first. */
rl_status arch_time_early(void) { return RL_ERR_NOT_SUPPORTED; }

/* The info line (klog_later: none is formatted before the first picture). */
static void log_timer(const void *ctx) {
  (void)ctx;
  klog(LOG_INFO, "time: timebase %llu Hz, SBI TIME timer\n",
       (unsigned long long)timebase_hz());
}

rl_status arch_time_init(const struct fdt *fdt) {
  int cpus;
  uint32_t f;
  rl_status st = fdt_path(fdt, "/cpus", &cpus);
  if (st == RL_OK) {
    st = fdt_get_u32(fdt, cpus, "timebase-frequency", &f);
  }
  if (st != RL_OK) {
    return st;
  }
  if (f == 0) {
    return RL_ERR_BAD_FORMAT;
  }
  timebase_set(f);
  struct sbi_ret probe = sbi_call(0x10, 3, SBI_EXT_TIME, 0, 0);
  if (probe.error != 0 || probe.value == 0) {
    klog(LOG_ERROR, "time: SBI TIME extension missing\n");
    return RL_ERR_NOT_SUPPORTED;
  }
  klog_later(log_timer, NULL);
  return RL_OK;
}

void arch_idle_until(uint64_t deadline_ns) {
  unsigned long flags = arch_irq_save();
  uint64_t now = arch_time_ns();
  if (now < deadline_ns) {
    (void)sbi_call(SBI_EXT_TIME, 0,
                   ticks() + timebase_ns_to_ticks(deadline_ns - now) + 1, 0, 0);
    csr_set(sie, SIE_STIE);
    /* WFI resumes on a pending enabled interrupt even with SIE clear
     * (privileged spec §3.3.3), so nothing arriving after the check is
     * lost. */
    __asm__ volatile("wfi" ::: "memory");
  }
  arch_irq_enable_local(); /* take what is pending */
  arch_irq_restore(flags);
}
