#include <kernel/boot.h>
#include <lib/log.h>
#include <mm/page_alloc.h>
#include <ringlight/config.h>
#include <string.h>

rl_status boot_read_memory(const struct fdt *fdt, struct boot_info *info) {
  int node = fdt_root(fdt);
  info->ram_count = 0;
  info->ram_bytes = 0;
  while (fdt_walk_next(fdt, node, &node, NULL) == RL_OK) {
    const char *type;
    if (fdt_get_str(fdt, node, "device_type", &type) != RL_OK ||
        strcmp(type, "memory") != 0 || !fdt_node_enabled(fdt, node)) {
      continue;
    }
    uint64_t addr, size;
    for (unsigned i = 0; fdt_get_reg(fdt, node, i, &addr, &size) == RL_OK;
         i++) {
      if (size == 0 || addr + size < addr) {
        continue;
      }
      if (info->ram_count == BOOT_MAX_RAM) {
        klog(LOG_WARN, "memory: more than %d ranges, ignoring %#llx+%#llx\n",
             BOOT_MAX_RAM, (unsigned long long)addr, (unsigned long long)size);
        continue;
      }
      info->ram[info->ram_count].start = addr;
      info->ram[info->ram_count].size = size;
      info->ram_count++;
      info->ram_bytes += size;
    }
  }
  return RL_OK;
}

typedef rl_status (*region_fn)(const struct fdt *fdt, int node, uint64_t addr,
                               uint64_t size);

/* Each region of /reserved-memory's children to `fn`, in tree order,
 * until it fails. */
static rl_status each_reserved(const struct fdt *fdt, region_fn fn) {
  int parent, child;
  uint64_t addr, size;
  if (fdt_path(fdt, "/reserved-memory", &parent) != RL_OK) {
    return RL_OK;
  }
  for (rl_status st = fdt_first_child(fdt, parent, &child); st == RL_OK;
       st = fdt_next_sibling(fdt, child, &child)) {
    for (unsigned i = 0; fdt_get_reg(fdt, child, i, &addr, &size) == RL_OK;
         i++) {
      rl_status rst = fn(fdt, child, addr, size);
      if (rst != RL_OK) {
        return rst;
      }
    }
  }
  return RL_OK;
}

static rl_status reserve_region(const struct fdt *fdt, int node, uint64_t addr,
                                uint64_t size) {
  (void)fdt;
  (void)node;
  return page_alloc_reserve(addr, size);
}

static rl_status log_region(const struct fdt *fdt, int node, uint64_t addr,
                            uint64_t size) {
  klog(LOG_INFO, "memory: reserved %s [%#llx-%#llx]\n",
       fdt_node_name(fdt, node), (unsigned long long)addr,
       (unsigned long long)(addr + size - 1));
  return RL_OK;
}

/* The regions' info lines (klog_later: after the first picture). */
static void log_reserved(const void *ctx) {
  (void)each_reserved(ctx, log_region);
}

rl_status boot_reserve_firmware(const struct fdt *fdt) {
  uint64_t addr, size;
  for (unsigned i = 0; fdt_mem_rsv(fdt, i, &addr, &size) == RL_OK; i++) {
    rl_status st = page_alloc_reserve(addr, size);
    if (st != RL_OK) {
      return st;
    }
  }
  if (CONFIG_LOG_LEVEL >= LOG_INFO) { /* `fdt` lives as long as the kernel */
    klog_later(log_reserved, fdt);
  }
  return each_reserved(fdt, reserve_region);
}

void boot_print_banner(const struct boot_info *info, paddr_t dtb_pa) {
  uint64_t kib = info->ram_bytes >> 10;
  kprintf("%s %s: memory %llu MiB (%llu KiB) in %zu range(s), "
          "device tree at %#llx\n",
          CONFIG_KERNEL_BANNER, CONFIG_ARCH, (unsigned long long)(kib >> 10),
          (unsigned long long)kib, info->ram_count, (unsigned long long)dtb_pa);
  for (size_t i = 0; i < info->ram_count; i++) {
    kprintf("memory: range %zu [%#llx-%#llx]\n", i,
            (unsigned long long)info->ram[i].start,
            (unsigned long long)(info->ram[i].start + info->ram[i].size - 1));
  }
  kprintf("memory: %llu of %llu pages free\n",
          (unsigned long long)page_alloc_free_pages(),
          (unsigned long long)page_alloc_total_pages());
}

const char *boot_args(const struct fdt *fdt) {
  int node;
  const char *args;
  if (fdt_path(fdt, "/chosen", &node) != RL_OK ||
      fdt_get_str(fdt, node, "bootargs", &args) != RL_OK) {
    return "";
  }
  return args;
}

bool boot_arg_present(const struct fdt *fdt, const char *word) {
  return boot_args_have(boot_args(fdt), word);
}

bool boot_args_have(const char *args, const char *word) {
  size_t wlen = strlen(word);
  for (const char *p = args; *p != '\0';) {
    while (*p == ' ') {
      p++;
    }
    const char *end = p;
    while (*end != '\0' && *end != ' ') {
      end++;
    }
    if ((size_t)(end - p) == wlen && strncmp(p, word, wlen) == 0) {
      return true;
    }
    p = end;
  }
  return false;
}
