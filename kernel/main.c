/* Kernel entry after the architecture's boot code: reads the device tree,
 * builds the address space and the allocators, brings up interrupts and
 * time (on aarch64 after the GPUs' probe: arch_time_early), prints the
 * banner and runs the boot self-tests. */
#include <arch/console.h>
#include <arch/dma.h>
#include <arch/init.h>
#include <arch/irq.h>
#include <arch/power.h>
#include <arch/time.h>
#include <arch/vm.h>
#include <devicetree/fdt.h>
#include <drivers/gpu/gpu.h>
#include <drivers/gpu/gpu_bench.h>
#include <kernel/boot.h>
#include <kernel/boot_picture.h>
#include <kernel/input_console.h>
#include <lib/log.h>
#include <mm/page_alloc.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>
#include <virtio/transport-mmio/mmio.h>

#include <string.h>
#ifdef CONFIG_VIRTIO_PCI
#include <virtio/transport-pci/pci.h>
#endif

#define GIB ((uint64_t)1 << 30)
#define VIRTIO_ID_GPU 16 /* virtio 1.2 §5 */

void kernel_main(paddr_t dtb_pa);

static void check(rl_status st, const char *what) {
  if (st != RL_OK) {
    panic("%s failed: %s", what, rl_status_str(st));
  }
}

static void *phys_to_virt_for_alloc(paddr_t pa) {
  return arch_phys_to_virt(pa);
}

static void open_device_tree(paddr_t dtb_pa, struct fdt *fdt) {
  paddr_t kstart, kend;
  arch_kernel_extent(&kstart, &kend);
  /* The boot tables map only the kernel's gigabyte; QEMU puts the blob
   * there on both machines. */
  if (dtb_pa / GIB != kstart / GIB) {
    panic("device tree at %#llx is outside the boot mapping "
          "(kernel gigabyte %#llx)",
          (unsigned long long)dtb_pa, (unsigned long long)kstart / GIB * GIB);
  }
  const void *blob = (const void *)(uintptr_t)(ARCH_DIRECT_MAP_BASE + dtb_pa);
  size_t limit = (size_t)(GIB - dtb_pa % GIB);
  rl_status st = fdt_open(fdt, blob, limit);
  if (st != RL_OK) {
    panic("device tree at %#llx is invalid: %s (header magic %#x)",
          (unsigned long long)dtb_pa, rl_status_str(st), fdt_be32(blob));
  }
}

static void setup_memory(const struct fdt *fdt, paddr_t dtb_pa,
                         struct boot_info *info) {
  check(boot_read_memory(fdt, info), "reading memory from the device tree");
  if (info->ram_count == 0) {
    panic("the device tree has no memory node");
  }
  check(arch_vm_init(info->ram, info->ram_count), "building page tables");
  for (size_t i = 0; i < info->ram_count; i++) {
    rl_status st = page_alloc_add_range(info->ram[i].start, info->ram[i].size);
    if (st == RL_ERR_NO_SPACE) {
      klog(LOG_WARN,
           "memory: range %zu ignored (CONFIG_PAGE_ALLOC_MAX_RANGES "
           "is %d)\n",
           i, PAGE_ALLOC_MAX_RANGES);
      continue;
    }
    check(st, "adding RAM");
  }
  paddr_t kstart, kend;
  arch_kernel_extent(&kstart, &kend);
  check(page_alloc_reserve(kstart, kend - kstart), "reserving the kernel");
  check(page_alloc_reserve(dtb_pa, fdt->size), "reserving the device tree");
  check(boot_reserve_firmware(fdt), "reserving firmware memory");
  check(page_alloc_init(phys_to_virt_for_alloc), "page allocator");
}

static uint64_t entry_raw;

#ifdef CONFIG_BENCH
static void bench_print(const char *what, const struct gpu_bench_result *r) {
  uint64_t per_s = r->ns ? (uint64_t)r->updates * 1000000000ull / r->ns : 0;
  kprintf("BENCH %s updates=%u ns=%llu per_s=%llu notifications=%lu "
          "interrupts=%lu max_notifications_per_update=%lu "
          "max_interrupts_per_update=%lu\n",
          what, r->updates, (unsigned long long)r->ns,
          (unsigned long long)per_s, r->notifications, r->interrupts,
          r->max_notifications, r->max_interrupts);
}

/* On the first GPU. */
static void run_benchmarks(void) {
  struct gpu *g = gpu_get(0);
  uint64_t entry = arch_time_raw_to_ns(entry_raw);
  uint64_t frame = gpu_first_frame_ns(g);
  kprintf("BENCH boot arch=%s entry_ns=%llu first_frame_ns=%llu "
          "entry_to_frame_ns=%llu\n",
          CONFIG_ARCH, (unsigned long long)entry, (unsigned long long)frame,
          (unsigned long long)(frame > entry ? frame - entry : 0));
  struct fb_surface *s = gpu_surface(g, 0);
  struct gpu_bench_result r;
  if (s == NULL) {
    panic("benchmark: no display");
  }
  check(gpu_bench(g, 60, s->width, s->height, &r), "full-screen benchmark");
  bench_print("full", &r);
  check(gpu_bench(g, 600, 64, 64, &r), "small-update benchmark");
  bench_print("small", &r);
  kprintf("BENCH done\n");
  arch_poweroff(0);
}
#endif

/* The log's serial console and platform hooks (lib/log.h).
 *
 * Until the first picture is out the serial copy of the log is held
 * here and written after it: under emulation each character costs the
 * UART's exits to the emulator (PL011: a flag read and a data write,
 * about 3 us on the benchmark host, 1000 characters before the GPU's
 * warm-up), and a UART access waits while the device model copies the
 * warm-up transfer. Nothing is dropped or reordered: held text goes out
 * first when the hold ends, when it would overflow, and before a halt
 * (a panic's message included). */
static char serial_held[4096];
static size_t serial_held_len;
static bool serial_holding;

static void serial_write_held(void) {
  arch_console_write(serial_held, serial_held_len);
  serial_held_len = 0;
}

static void serial_sink(const char *text, size_t len, void *ctx) {
  (void)ctx;
  /* Called with interrupts masked (lib/log.c emit). */
  if (serial_holding) {
    if (len <= sizeof(serial_held) - serial_held_len) {
      memcpy(serial_held + serial_held_len, text, len);
      serial_held_len += len;
      return;
    }
    serial_write_held();
  }
  arch_console_write(text, len);
}

static void serial_release(void) {
  unsigned long flags = arch_irq_save();
  serial_holding = false;
  serial_write_held();
  arch_irq_restore(flags);
}

static RL_NORETURN void halt(int status) {
  serial_release();
  arch_poweroff(status);
}

static const struct log_platform log_platform = {
    .irq_save = arch_irq_save,
    .irq_restore = arch_irq_restore,
    .halt = halt,
};

/* The architecture's set-up from the device tree (arch/init.h), the
 * interrupt controller included; then a test build's deliberate fault. */
static void setup_arch(const struct fdt *fdt) {
  check(arch_console_init(fdt), "console from the device tree");
  check(arch_irq_init(fdt), "interrupt controller");
  boot_stamp("irq");
  check(arch_time_init(fdt), "timer");
  check(arch_power_init(fdt), "power control");
  check(arch_cache_init(fdt), "cache maintenance");
  arch_irq_enable_local();
  boot_stamp("arch");

#ifdef CONFIG_TEST_DELIBERATE_FAULT
  kprintf("test: taking a deliberate fault at address 0x10\n");
  /* Through a volatile: GCC 12 rejects a constant address in the first
   * page (-Warray-bounds), however deliberate. */
  volatile uintptr_t fault_address = 0x10;
  (void)*(volatile uint32_t *)fault_address;
  panic("the deliberate fault did not fault");
#endif
}

static void log_early_banner(const void *ctx) {
  (void)ctx;
  kprintf("\n%s: early console up (%s)\n", CONFIG_KERNEL_BANNER, arch_name());
}

void kernel_main(paddr_t dtb_pa) {
  entry_raw = arch_time_raw();
  log_set_platform(&log_platform);
  serial_holding = true; /* until the first picture (serial_release) */
  log_set_serial(serial_sink, NULL); /* the early UART, then the tree's */
  boot_stamp("main");
  /* The info lines wait until the first picture is posted (klog_later),
   * this one first. */
  klog_defer(true);
  klog_later(log_early_banner, NULL);
  struct fdt fdt;
  open_device_tree(dtb_pa, &fdt);

  static struct boot_info info;
  setup_memory(&fdt, dtb_pa, &info);
  boot_stamp("memory");
  /* Where the architecture can wait without interrupts (aarch64: wfe on
   * the timer's event stream), the GPUs are probed first and the rest of
   * its set-up runs after the boot picture is posted, off its path (the
   * device model's first copy keeps the emulator busy meanwhile); else
   * (riscv64) everything first. */
  bool drivers_first = arch_time_early() == RL_OK;
  if (!drivers_first) {
    setup_arch(&fdt);
  } else {
    virtio_irqs_hold(true); /* their lines after setup_arch */
  }

#ifdef CONFIG_DRIVER_VIRTIO_GPU
  /* Every scanout a GPU lights shows the boot picture under its console. */
  gpu_set_painter(boot_picture_draw);
#endif
#if defined(CONFIG_DRIVER_VIRTIO_INPUT) && defined(CONFIG_DRIVER_VIRTIO_GPU)
  input_console_add_sink(); /* before the GPU consoles' sinks */
#endif
  /* The GPUs first: the picture waits for no other device's probe, nor
   * for the slots after the GPU's (QEMU gives the first -device the
   * last node). Then the other devices, in tree order. */
  static const struct virtio_mmio_filter gpus = {.only = VIRTIO_ID_GPU},
                                         others = {.except = VIRTIO_ID_GPU};
  unsigned bound = virtio_mmio_probe(&fdt, &gpus);
#ifdef CONFIG_DRIVER_VIRTIO_GPU
  if (gpu_get(0) != NULL) {
    boot_stamp_ns("picture", gpu_first_frame_ns(gpu_get(0)));
  }
#endif
  if (drivers_first) {
    setup_arch(&fdt);
    virtio_irqs_attach(); /* the GPUs probed before the controller */
  }
  klog_defer(false); /* the info lines that waited, formatted now */
  serial_release();  /* the log so far, after the picture */
#if defined(CONFIG_DRIVER_VIRTIO_INPUT) && defined(CONFIG_DRIVER_VIRTIO_GPU)
  input_console_init(&fdt); /* pointer -> cursor, keys -> console */
#endif
  bound += virtio_mmio_probe(&fdt, &others);
  boot_stamp("mmio");
#ifdef CONFIG_VIRTIO_PCI
  bound += virtio_pci_probe_all(&fdt);
  boot_stamp("pci");
#endif
  kprintf("virtio: %u device(s) bound to a driver\n", bound);
  /* After the picture (off its path, which needs the timer initialised,
   * not tested): the banner, the slot list and the self-tests. */
  boot_print_banner(&info, dtb_pa);
  virtio_mmio_log_slots(&fdt);
  boot_stamp("slots");
  check(boot_time_selftest(), "timer self-test");
  boot_stamp("timetest");
#ifdef CONFIG_TEST_DMA_SELFTEST
  /* A broken DMA path shows in the drivers' own errors first, then
   * here, by name. */
  check(boot_dma_selftest(), "DMA self-test");
  boot_stamp("dmatest");
#endif
#ifdef CONFIG_DRIVER_VIRTIO_GPU
  if (CONFIG_LOG_LEVEL >= LOG_WARN && gpu_surface(gpu_get(0), 0) == NULL) {
    /* The hint to add a GPU only when none was found; otherwise what
     * keeps each one found dark. */
    static char why[320];
    unsigned found = 0;
    for (; gpu_unusable(found, why, sizeof(why)); found++) {
      klog(LOG_WARN, "display: %s: nothing is shown on screen\n", why);
    }
    if (found == 0) {
      klog(LOG_WARN, "display: no virtio-gpu device found: nothing is shown "
                     "on screen (add -device virtio-gpu-device)\n");
    }
  }
#endif

#ifdef CONFIG_TEST_GPU_DAMAGE_PATTERN
  check(boot_damage_pattern(), "damage pattern (test build)");
#endif

  boot_stamps_print();
  kprintf("RINGLIGHT: boot complete\n");
#ifdef CONFIG_BENCH
  run_benchmarks();
#endif
  virtio_poll_all(); /* show the last lines on the screen too */
  if (boot_arg_present(&fdt, "ringlight.poweroff")) {
    kprintf("RINGLIGHT: PASS\n");
    arch_poweroff(0);
  }
  for (;;) {
    virtio_poll_all();
    arch_idle_until(arch_time_ns() + 100000000ull);
  }
}
