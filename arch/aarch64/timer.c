/* Generic timer, virtual view (Arm ARM D11): CNTVCT_EL0 counts at
 * CNTFRQ_EL0; CNTV_CVAL_EL0 raises the virtual timer PPI from the device
 * tree's arm,armv8-timer node (third specifier). */
#include <arch/common/arch_common.h>
#include <arch/irq.h>
#include <arch/time.h>
#include <lib/log.h>

static unsigned timer_irq;

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

rl_status arch_time_init(const struct fdt *fdt) {
  uint64_t freq;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
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
  klog(LOG_INFO, "time: generic timer %llu Hz, virtual timer irq %u\n",
       (unsigned long long)freq, timer_irq);
  return st;
}

void arch_idle_until(uint64_t deadline_ns) {
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
