/* Boot-phase stamps (boot.h): where the time to the first picture goes,
 * on the guest's own clock, for tools/bench qemu. */
#include <arch/init.h>
#include <arch/time.h>
#include <kernel/boot.h>
#include <lib/fmt.h>
#include <lib/log.h>

#define MAX_STAMPS 20

static struct {
  const char *name;
  uint64_t value;
  bool is_ns; /* else raw: converted when printed (the timer's frequency
                 is read from the device tree after the first stamps) */
} stamps[MAX_STAMPS];
static unsigned count;

static void add(const char *name, uint64_t value, bool is_ns) {
  if (count < MAX_STAMPS) {
    stamps[count].name = name;
    stamps[count].value = value;
    stamps[count].is_ns = is_ns;
    count++;
  }
}

void boot_stamp(const char *name) { add(name, arch_time_raw(), false); }

void boot_stamp_ns(const char *name, uint64_t ns) { add(name, ns, true); }

static unsigned long us(uint64_t value, bool is_ns) {
  return (unsigned long)((is_ns ? value : arch_time_raw_to_ns(value)) / 1000);
}

void boot_stamps_print(void) {
  static const char *const entry_names[ARCH_BOOT_STAMPS] = {"entry", "bss",
                                                            "mmu"};
  char line[400];
  size_t n = 0;
  for (unsigned i = 0; i < ARCH_BOOT_STAMPS + count; i++) {
    const char *name = i < ARCH_BOOT_STAMPS ? entry_names[i]
                                            : stamps[i - ARCH_BOOT_STAMPS].name;
    unsigned long t = i < ARCH_BOOT_STAMPS
                          ? us(arch_boot_raw[i], false)
                          : us(stamps[i - ARCH_BOOT_STAMPS].value,
                               stamps[i - ARCH_BOOT_STAMPS].is_ns);
    int w = rl_snprintf(line + n, sizeof(line) - n, " %s %lu", name, t);
    if (w < 0 || (size_t)w >= sizeof(line) - n) {
      break;
    }
    n += (size_t)w;
  }
  kprintf("boot: us since start:%s\n", line);
}
