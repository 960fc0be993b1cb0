/* Generic timer, virtual view (Arm ARM D11): CNTVCT_EL0 counts at
 * CNTFRQ_EL0; CNTV_CVAL_EL0 raises the virtual timer PPI from the device
 * tree's arm,armv8-timer node (third specifier). */
#include <arch/common/arch_common.h>
#include <arch/init.h>
#include <arch/irq.h>
#include <arch/time.h>
#include <lib/log.h>

static unsigned timer_irq;
static bool timer_up; /* arch_time_init done: idle waits take its interrupt */

static uint64_t ticks(void) {
  uint64_t v;
  __asm__ volatile("isb\n mrs %0, cntvct_el0" : "=r"(v)::"memory");
  return v;
}

uint64_t arch_time_raw(void) { return ticks(); }

static unsigned long timer_count;

unsigned long arch_timer_interrupts(void) { return timer_count; }

static void timer_handler(void *ctx) {
  (void)ctx;
  timer_count++;
  /* Mask until the next arch_idle_until arms it again. */
  __asm__ volatile("msr cntv_ctl_el0, %0\n isb" ::"r"(2ull));
}

/* CNTFRQ_EL0 is the frequency (Arm ARM D11.1.2). */
static uint64_t counter_hz(void) {
  uint64_t freq;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
  return freq;
}

rl_status arch_time_early(void) {
  uint64_t freq = counter_hz();
  timebase_set(freq);
  if (freq < 200000) {
    return RL_ERR_NOT_SUPPORTED;
  }
  /* The event stream (Arm ARM D11.2.3): an event, which ends a wfe, each
   * time counter bit EVNTI goes 0 to 1, every 2^(EVNTI + 1) ticks; the
   * largest such period of at most 20 us bounds arch_idle_until's wfe
   * until the timer's interrupt is set up. */
  unsigned evnti = 0;
  while (evnti < 15 && (2ull << (evnti + 1)) <= freq / 50000) {
    evnti++;
  }
  uint64_t kctl;
  __asm__ volatile("mrs %0, cntkctl_el1" : "=r"(kctl));
  kctl = (kctl & ~0xfcull) | ((uint64_t)evnti << 4) | 4u; /* EVNTEN */
  __asm__ volatile("msr cntkctl_el1, %0\n isb" ::"r"(kctl));
  return RL_OK;
}

rl_status arch_time_init(const struct fdt *fdt) {
  uint64_t freq = counter_hz();
  timebase_set(freq);
  if (freq == 0) {
    return RL_ERR_NOT_SUPPORTED;
  }
  int node;
  rl_status st = fdt_find_compatible(fdt, -1, "arm,armv8-timer", &node);
  if (st != RL_OK) {
    return st;
  }
  uint32_t cells[3];
  size_t n;
  if ((st = fdt_get_interrupt(fdt, node, 2, cells, 3, &n)) != RL_OK ||
      (st = arch_irq_from_dt(cells, n, &timer_irq)) != RL_OK ||
      (st = arch_irq_register(timer_irq, timer_handler, NULL)) != RL_OK) {
    return st;
  }
  __asm__ volatile("msr cntv_ctl_el0, %0\n isb" ::"r"(2ull));
  st = arch_irq_enable(timer_irq);
  timer_up = st == RL_OK;
  klog(LOG_INFO, "time: generic timer %llu Hz, virtual timer irq %u\n",
       (unsigned long long)freq, timer_irq);
  return st;
}

void arch_idle_until(uint64_t deadline_ns) {
  if (!timer_up) {
    /* Before arch_time_init (arch_time_early): no interrupt can be
     * pending; the event stream ends the wfe within 20 us. */
    if (arch_time_ns() < deadline_ns) {
      __asm__ volatile("wfe" ::: "memory");
    }
    return;
  }
  unsigned long flags = arch_irq_save();
  uint64_t now = arch_time_ns();
  if (now < deadline_ns) {
    uint64_t cval = ticks() + timebase_ns_to_ticks(deadline_ns - now) + 1;
    __asm__ volatile(
        "msr cntv_cval_el0, %0\n msr cntv_ctl_el0, %1\n isb" ::"r"(cval),
        "r"(1ull));
    /* WFI wakes on a pending interrupt even while masked (Arm ARM
     * D1.16.2), so nothing arriving after the check is lost. */
    __asm__ volatile("dsb sy\n wfi" ::: "memory");
  }
  arch_irq_enable_local(); /* take what is pending */
  __asm__ volatile("isb" ::: "memory");
  arch_irq_restore(flags);
}
