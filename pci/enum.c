/* Bus 0 enumeration and BAR assignment (PCI Local Bus 3.0 §6.2.5.1:
 * sizing by writing all ones; PCI Firmware 3.2 leaves the assignment to
 * whoever runs first, here the kernel) and INTx routing through the
 * host bridge's interrupt-map (device tree spec v0.4 §2.4.3). */
#include <lib/log.h>
#include <pci/pci.h>

#include "pci_regs.h"

#define PHYS_HI_DEVFN_SHIFT 8
#define PHYS_HI_BUS_SHIFT 16
#define PCI_ADDR_CELLS 3
#define PCI_MAP_CHILD_CELLS (PCI_ADDR_CELLS + 1)
#define PCI_MAX_PARENT_CELLS 8

static bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

static const char *space_name(enum pci_space s) {
  switch (s) {
  case PCI_SPACE_IO:
    return "io";
  case PCI_SPACE_MEM32:
    return "mem32";
  case PCI_SPACE_MEM64:
    return "mem64";
  }
  return "?";
}

/* Sizes BAR `i` (decoding is off while this runs). Returns how many BAR
 * registers it takes (1, or 2 for a 64-bit BAR), 0 for a register that
 * is not a valid BAR. */
static unsigned size_bar(struct pci_function *f, unsigned i) {
  unsigned reg = PCI_BAR0 + 4 * i;
  uint32_t orig = pci_cfg_read32(f, reg);
  pci_cfg_write32(f, reg, 0xffffffffu);
  uint32_t lo = pci_cfg_read32(f, reg);
  pci_cfg_write32(f, reg, orig);
  struct pci_bar *b = &f->bars[i];
  *b = (struct pci_bar){0};
  if (lo == 0 || lo == 0xffffffffu) {
    return 1; /* not implemented (all ones: nothing answers) */
  }
  if (lo & PCI_BAR_IO) {
    uint32_t mask = lo & PCI_BAR_IO_MASK;
    if ((mask & 0xffff0000u) == 0) {
      mask |= 0xffff0000u; /* a 16-bit I/O decoder */
    }
    b->space = PCI_SPACE_IO;
    b->size = (uint32_t)(~mask + 1u);
    return is_pow2(b->size) ? 1 : 0;
  }
  b->prefetchable = (lo & PCI_BAR_PREFETCH) != 0;
  uint64_t mask = lo & PCI_BAR_MEM_MASK;
  unsigned regs = 1;
  if ((lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM_64) {
    if (i + 1 >= PCI_BARS) {
      return 0; /* the upper half would be past the last BAR */
    }
    uint32_t orig_hi = pci_cfg_read32(f, reg + 4);
    pci_cfg_write32(f, reg + 4, 0xffffffffu);
    uint32_t hi = pci_cfg_read32(f, reg + 4);
    pci_cfg_write32(f, reg + 4, orig_hi);
    mask |= (uint64_t)hi << 32;
    b->space = PCI_SPACE_MEM64;
    regs = 2;
  } else if ((lo & PCI_BAR_MEM_TYPE) == 0) {
    mask |= 0xffffffff00000000ull;
    b->space = PCI_SPACE_MEM32;
  } else {
    return 0; /* reserved type */
  }
  b->size = ~mask + 1u;
  /* The writable bits must be the high ones, contiguous. */
  return is_pow2(b->size) ? regs : 0;
}

/* Reads the function's header and sizes its BARs. false: not a usable
 * function (logged). */
static bool probe_function(struct pci_function *f) {
  char name[16];
  pci_function_name(f, name, sizeof(name));
  f->device_id = pci_cfg_read16(f, PCI_DEVICE_ID);
  f->revision = pci_cfg_read8(f, PCI_REVISION);
  f->prog_if = pci_cfg_read8(f, PCI_CLASS_PROG);
  f->class_sub = pci_cfg_read8(f, PCI_CLASS_SUB);
  f->class_base = pci_cfg_read8(f, PCI_CLASS_BASE);
  f->header_type = pci_cfg_read8(f, PCI_HEADER_TYPE) & PCI_HEADER_LAYOUT;
  f->interrupt_pin = pci_cfg_read8(f, PCI_INTERRUPT_PIN);
  if (f->interrupt_pin > 4) {
    f->interrupt_pin = 0;
  }
  if (f->header_type == PCI_HEADER_BRIDGE) {
    klog(LOG_WARN,
         "pci: %s %04x:%04x is a bridge: the buses behind it are not "
         "enumerated\n",
         name, f->vendor_id, f->device_id);
    return false;
  }
  if (f->header_type != PCI_HEADER_ENDPOINT) {
    klog(LOG_WARN, "pci: %s %04x:%04x: header type %u unsupported\n", name,
         f->vendor_id, f->device_id, f->header_type);
    return false;
  }
  f->subsystem_vendor = pci_cfg_read16(f, PCI_SUBSYSTEM_VENDOR);
  f->subsystem_id = pci_cfg_read16(f, PCI_SUBSYSTEM_ID);
  uint16_t cmd = pci_cfg_read16(f, PCI_COMMAND);
  pci_cfg_write16(f, PCI_COMMAND,
                  (uint16_t)(cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY)));
  bool ok = true;
  for (unsigned i = 0; i < PCI_BARS;) {
    unsigned regs = size_bar(f, i);
    if (regs == 0) {
      klog(LOG_WARN, "pci: %s %04x:%04x: BAR%u is malformed\n", name,
           f->vendor_id, f->device_id, i);
      f->bars[i].size = 0;
      ok = false;
      break;
    }
    if (regs == 2) {
      f->bars[i + 1] = (struct pci_bar){0};
    }
    i += regs;
  }
  return ok;
}

static uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) & ~(a - 1);
}

/* A window for a memory BAR: a 64-bit BAR prefers the 64-bit window; a
 * non-prefetchable BAR never goes into a prefetchable window. */
static rl_status place(struct pci_host *host, struct pci_bar *b) {
  static const enum pci_space order64[] = {PCI_SPACE_MEM64, PCI_SPACE_MEM32};
  static const enum pci_space order32[] = {PCI_SPACE_MEM32};
  const enum pci_space *order = b->space == PCI_SPACE_MEM64 ? order64 : order32;
  size_t n = b->space == PCI_SPACE_MEM64 ? RL_ARRAY_SIZE(order64)
                                         : RL_ARRAY_SIZE(order32);
  for (size_t k = 0; k < n; k++) {
    /* Prefetchable windows first for a prefetchable BAR. */
    for (int pass = b->prefetchable ? 0 : 1; pass < 2; pass++) {
      for (unsigned w = 0; w < host->window_count; w++) {
        struct pci_window *win = &host->windows[w];
        if (win->space != order[k] || win->prefetchable != (pass == 0)) {
          continue;
        }
        uint64_t at = align_up(win->pci_base + win->used, b->size);
        if (at < win->pci_base || b->size > win->size ||
            at - win->pci_base > win->size - b->size) {
          continue;
        }
        b->pci_addr = at;
        b->cpu_addr = win->cpu_base + (at - win->pci_base);
        win->used = at + b->size - win->pci_base;
        return RL_OK;
      }
    }
  }
  return RL_ERR_NO_SPACE;
}

struct bar_ref {
  uint8_t function;
  uint8_t bar;
};

static void assign(struct pci_host *host) {
  /* Largest first: with power-of-two sizes this packs without holes. */
  struct bar_ref refs[PCI_MAX_FUNCTIONS * PCI_BARS];
  size_t count = 0;
  for (unsigned i = 0; i < host->function_count; i++) {
    struct pci_function *f = &host->functions[i];
    for (unsigned b = 0; f->usable && b < PCI_BARS; b++) {
      if (f->bars[b].size != 0 && f->bars[b].space != PCI_SPACE_IO) {
        size_t at = count++;
        while (at > 0) {
          const struct bar_ref *prev = &refs[at - 1];
          if (host->functions[prev->function].bars[prev->bar].size >=
              f->bars[b].size) {
            break;
          }
          refs[at] = refs[at - 1];
          at--;
        }
        refs[at] = (struct bar_ref){(uint8_t)i, (uint8_t)b};
      }
    }
  }
  for (size_t r = 0; r < count; r++) {
    struct pci_function *f = &host->functions[refs[r].function];
    struct pci_bar *b = &f->bars[refs[r].bar];
    if (!f->usable || place(host, b) == RL_OK) {
      continue;
    }
    char name[16];
    pci_function_name(f, name, sizeof(name));
    klog(LOG_WARN,
         "pci: %s %04x:%04x: BAR%u (%s%s, %llu bytes) fits no window: the "
         "function stays disabled\n",
         name, f->vendor_id, f->device_id, refs[r].bar, space_name(b->space),
         b->prefetchable ? " prefetchable" : "", (unsigned long long)b->size);
    f->usable = false;
  }
}

static void enable(struct pci_function *f) {
  char name[16];
  pci_function_name(f, name, sizeof(name));
  for (unsigned i = 0; i < PCI_BARS; i++) {
    const struct pci_bar *b = &f->bars[i];
    if (b->size == 0 || b->space == PCI_SPACE_IO) {
      continue; /* I/O BARs stay unassigned: nothing here uses port I/O */
    }
    pci_cfg_write32(f, PCI_BAR0 + 4 * i, (uint32_t)b->pci_addr);
    if (b->space == PCI_SPACE_MEM64) {
      pci_cfg_write32(f, PCI_BAR0 + 4 * (i + 1), (uint32_t)(b->pci_addr >> 32));
    }
    klog(LOG_DEBUG, "pci: %s BAR%u %s %llu bytes at %#llx\n", name, i,
         space_name(b->space), (unsigned long long)b->size,
         (unsigned long long)b->cpu_addr);
  }
  uint16_t cmd = pci_cfg_read16(f, PCI_COMMAND);
  cmd = (uint16_t)((cmd & ~PCI_COMMAND_IO) | PCI_COMMAND_MEMORY |
                   PCI_COMMAND_MASTER);
  pci_cfg_write16(f, PCI_COMMAND, cmd);
}

rl_status pci_enumerate(struct pci_host *host) {
  if (host == NULL || host->ecam == NULL) {
    return RL_ERR_INVALID;
  }
  host->function_count = 0;
  rl_status st = RL_OK;
  for (unsigned dev = 0; dev < PCI_DEVICES_PER_BUS; dev++) {
    for (unsigned fn = 0; fn < PCI_FUNCTIONS_PER_DEVICE; fn++) {
      struct pci_function probe = {.host = host,
                                   .bus = (uint8_t)host->bus_start,
                                   .dev = (uint8_t)dev,
                                   .fn = (uint8_t)fn};
      probe.vendor_id = pci_cfg_read16(&probe, PCI_VENDOR_ID);
      if (probe.vendor_id == 0xffff || probe.vendor_id == 0) {
        if (fn == 0) {
          break; /* no device: function 0 always exists when one does */
        }
        continue;
      }
      if (host->function_count == PCI_MAX_FUNCTIONS) {
        st = RL_ERR_NO_SPACE;
        break;
      }
      struct pci_function *f = &host->functions[host->function_count++];
      *f = probe;
      f->usable = probe_function(f);
      if (fn == 0 &&
          (pci_cfg_read8(f, PCI_HEADER_TYPE) & PCI_HEADER_MULTI) == 0) {
        break; /* single-function device */
      }
    }
  }
  if (st != RL_OK) {
    klog(LOG_WARN, "pci: more than %u functions: the rest are ignored\n",
         PCI_MAX_FUNCTIONS);
  }
  assign(host);
  for (unsigned i = 0; i < host->function_count; i++) {
    struct pci_function *f = &host->functions[i];
    char name[16];
    pci_function_name(f, name, sizeof(name));
    if (f->usable) {
      enable(f);
    }
    klog(LOG_INFO, "pci: %s %04x:%04x class %02x%02x%s\n", name, f->vendor_id,
         f->device_id, f->class_base, f->class_sub,
         f->usable ? "" : " (disabled)");
  }
  return st;
}

rl_status pci_intx_spec(const struct pci_function *f, uint32_t *cells,
                        size_t max, size_t *ncells) {
  if (f->interrupt_pin == 0) {
    return RL_ERR_NOT_FOUND;
  }
  const struct fdt *fdt = f->host->fdt;
  int node = f->host->node;
  struct fdt_prop mask_prop;
  struct fdt_prop map;
  uint32_t mask[PCI_MAP_CHILD_CELLS] = {~0u, ~0u, ~0u, ~0u};
  if (fdt_get_prop(fdt, node, "interrupt-map-mask", &mask_prop) == RL_OK) {
    if (mask_prop.len != sizeof(mask)) {
      return RL_ERR_BAD_FORMAT;
    }
    for (unsigned i = 0; i < PCI_MAP_CHILD_CELLS; i++) {
      mask[i] = fdt_be32((const uint8_t *)mask_prop.data + (size_t)4 * i);
    }
  }
  rl_status st = fdt_get_prop(fdt, node, "interrupt-map", &map);
  if (st != RL_OK) {
    return st;
  }
  const uint32_t child[PCI_MAP_CHILD_CELLS] = {
      ((uint32_t)f->bus << PHYS_HI_BUS_SHIFT) |
          ((uint32_t)((f->dev << 3) | f->fn) << PHYS_HI_DEVFN_SHIFT),
      0, 0, f->interrupt_pin};
  const uint8_t *p = (const uint8_t *)map.data;
  uint32_t off = 0;
  while (map.len - off >= 4 * (PCI_MAP_CHILD_CELLS + 1)) {
    bool match = true;
    for (unsigned i = 0; i < PCI_MAP_CHILD_CELLS; i++) {
      if ((child[i] & mask[i]) !=
          (fdt_be32(p + off + (size_t)4 * i) & mask[i])) {
        match = false;
      }
    }
    off += 4 * PCI_MAP_CHILD_CELLS;
    int parent;
    if (fdt_find_phandle(fdt, fdt_be32(p + off), &parent) != RL_OK) {
      return RL_ERR_BAD_FORMAT;
    }
    off += 4;
    uint32_t acells = 0;
    uint32_t icells;
    (void)fdt_get_u32(fdt, parent, "#address-cells", &acells);
    if (fdt_get_u32(fdt, parent, "#interrupt-cells", &icells) != RL_OK ||
        acells > PCI_MAX_PARENT_CELLS || icells == 0 ||
        icells > PCI_MAX_PARENT_CELLS ||
        map.len - off < 4 * (acells + icells)) {
      return RL_ERR_BAD_FORMAT;
    }
    off += 4 * acells;
    if (match) {
      if (icells > max) {
        *ncells = icells;
        return RL_ERR_NO_SPACE;
      }
      for (unsigned i = 0; i < icells; i++) {
        cells[i] = fdt_be32(p + off + (size_t)4 * i);
      }
      *ncells = icells;
      return RL_OK;
    }
    off += 4 * icells;
  }
  return off == map.len ? RL_ERR_NOT_FOUND : RL_ERR_BAD_FORMAT;
}

rl_status pci_msi_controller(const struct pci_function *f, int *ctrl,
                             uint32_t *devid) {
  const struct fdt *fdt = f->host->fdt;
  int node = f->host->node;
  /* PCI MSI binding (Linux's pci-msi.txt): msi-map is <rid-base
   * msi-controller msi-base length>..., the requester id first masked
   * with msi-map-mask; else msi-parent names one controller for all. */
  uint32_t rid = (uint32_t)f->bus << 8 | (uint32_t)(f->dev << 3 | f->fn);
  struct fdt_prop map;
  if (fdt_get_prop(fdt, node, "msi-map", &map) == RL_OK) {
    uint32_t mask = 0xffffu;
    if (fdt_has_prop(fdt, node, "msi-map-mask") &&
        fdt_get_u32(fdt, node, "msi-map-mask", &mask) != RL_OK) {
      return RL_ERR_BAD_FORMAT;
    }
    rid &= mask;
    const uint8_t *p = (const uint8_t *)map.data;
    for (uint32_t off = 0; map.len - off >= 16; off += 16) {
      uint32_t base = fdt_be32(p + off);
      uint32_t len = fdt_be32(p + off + 12);
      if (rid >= base && (uint64_t)rid - base < len) {
        *devid = fdt_be32(p + off + 8) + (rid - base);
        return fdt_find_phandle(fdt, fdt_be32(p + off + 4), ctrl) == RL_OK
                   ? RL_OK
                   : RL_ERR_BAD_FORMAT;
      }
    }
    return RL_ERR_NOT_FOUND;
  }
  uint32_t phandle;
  if (fdt_get_u32(fdt, node, "msi-parent", &phandle) == RL_OK) {
    *devid = rid;
    return fdt_find_phandle(fdt, phandle, ctrl) == RL_OK ? RL_OK
                                                         : RL_ERR_BAD_FORMAT;
  }
  return RL_ERR_NOT_FOUND;
}
