/* The log's serial console and platform for host tests (lib/log.h): lines
 * go to stdout (tests read them back by redirecting it), interrupts are
 * the host arch layer's, and a panic exits with PANIC_EXIT_STATUS as the
 * kernel's QEMU run does. Registered before main. */
#include <arch/irq.h>
#include <arch/power.h>
#include <lib/log.h>
#include <stdio.h>

static void to_stdout(const char *text, size_t len, void *ctx) {
  (void)ctx;
  (void)fwrite(text, 1, len, stdout);
}

static const struct log_platform host_platform = {
    .irq_save = arch_irq_save,
    .irq_restore = arch_irq_restore,
    .halt = arch_poweroff,
};

__attribute__((constructor)) static void host_log_init(void) {
  log_set_platform(&host_platform);
  log_set_serial(to_stdout, NULL);
}
