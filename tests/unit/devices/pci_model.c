/* The PCI bus model (pci_model.h). */
#include "pci_model.h"

#include <arch_host.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CMD_WRITABLE 0x0407u /* I/O, memory, bus master, INTx disable */
#define ECAM_SIZE (256u << 20)
#define ARENA_SIZE (1u << 30)

uint32_t pci_model_get32(const struct pci_model_fn *f, unsigned at) {
  return (uint32_t)f->cfg[at] | ((uint32_t)f->cfg[at + 1] << 8) |
         ((uint32_t)f->cfg[at + 2] << 16) | ((uint32_t)f->cfg[at + 3] << 24);
}

void pci_model_set32(struct pci_model_fn *f, unsigned at, uint32_t v) {
  for (unsigned i = 0; i < 4; i++) {
    f->cfg[at + i] = (uint8_t)(v >> (8 * i));
  }
}

static struct pci_model_fn *at(struct pci_model *m, size_t offset,
                               unsigned *reg) {
  size_t bus = offset >> 20;
  size_t devfn = (offset >> 12) & 0xff;
  *reg = (unsigned)(offset & 0xfff);
  if (bus != 0 || !m->fns[devfn].present) {
    return NULL;
  }
  return &m->fns[devfn];
}

static uint32_t model_read(void *ctx, size_t offset, unsigned width) {
  unsigned reg;
  struct pci_model_fn *f = at(ctx, offset, &reg);
  if (f == NULL) {
    return 0xffffffffu;
  }
  uint32_t v = 0;
  for (unsigned i = 0; i < width; i++) {
    v |= (uint32_t)f->cfg[reg + i] << (8 * i);
  }
  return v;
}

/* Whether BAR register `r` is the upper half of a 64-bit BAR, walking the
 * BARs from the first as a driver does (a 64-bit BAR's upper half is
 * never itself a BAR). */
static bool upper_half(const struct pci_model_fn *f, unsigned r) {
  for (unsigned b = 0; b < r;) {
    uint32_t lo = pci_model_get32(f, 0x10 + 4 * b);
    if ((lo & 1u) == 0 && (lo & 0x6u) == 0x4u) {
      if (b + 1 == r) {
        return true;
      }
      b += 2;
    } else {
      b++;
    }
  }
  return false;
}

/* BAR register `r` (0..5) written with `v`: the address bits that the
 * BAR's size leaves writable, the flag bits kept. */
static void write_bar(struct pci_model *m, struct pci_model_fn *f, unsigned r,
                      uint32_t v) {
  unsigned reg = 0x10 + 4 * r;
  uint32_t old = pci_model_get32(f, reg);
  uint16_t cmd = (uint16_t)(f->cfg[4] | (f->cfg[5] << 8));
  if (v == 0xffffffffu && (cmd & 0x3u) != 0) {
    m->sizing_while_decoding++;
  }
  if (f->bar_raw_mask[r] != 0) {
    /* A lie when sized; an address written keeps the type bits. */
    uint32_t type = old & ((old & 1u) ? 0x3u : 0xfu);
    pci_model_set32(f, reg,
                    v == 0xffffffffu ? f->bar_raw_mask[r] : (v & ~0xfu) | type);
    return;
  }
  /* The upper half of a 64-bit BAR. */
  if (upper_half(f, r) && f->bar_size[r - 1] != 0) {
    uint64_t mask = ~(f->bar_size[r - 1] - 1);
    pci_model_set32(f, reg, v & (uint32_t)(mask >> 32));
    return;
  }
  if (f->bar_size[r] == 0) {
    return;
  }
  uint32_t flags = old & ((old & 1u) ? 0x3u : 0xfu);
  uint32_t mask =
      (uint32_t) ~(f->bar_size[r] - 1) & ((old & 1u) ? ~0x3u : ~0xfu);
  pci_model_set32(f, reg, (v & mask) | flags);
}

static void model_write(void *ctx, size_t offset, unsigned width, uint32_t v) {
  struct pci_model *m = ctx;
  unsigned reg;
  struct pci_model_fn *f = at(m, offset, &reg);
  if (f == NULL) {
    return;
  }
  if (reg == 0x04 && width >= 2) {
    uint16_t cmd = (uint16_t)(f->cfg[4] | (f->cfg[5] << 8));
    cmd = (uint16_t)((cmd & ~f->command_writable) | (v & f->command_writable));
    f->cfg[4] = (uint8_t)cmd;
    f->cfg[5] = (uint8_t)(cmd >> 8);
    return;
  }
  if (reg >= 0x10 && reg < 0x28 && width == 4 && reg % 4 == 0) {
    write_bar(m, f, (reg - 0x10) / 4, v);
    return;
  }
  /* Everything else is read-only here, unless the function says. */
  if (f->cfg_write != NULL && reg >= 0x40) {
    f->cfg_write(f->cfg_ctx, reg, width, v);
  }
}

rl_status pci_model_init(struct pci_model *m) {
  *m = (struct pci_model){0};
  void *arena =
      mmap(NULL, ARENA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) {
    return RL_ERR_NO_MEMORY;
  }
  m->arena = arena;
  m->arena_used = ECAM_SIZE;
  m->fns = calloc(32 * 8, sizeof(*m->fns));
  rl_status st =
      m->fns == NULL
          ? RL_ERR_NO_MEMORY
          : host_mmio_register(m->arena, ECAM_SIZE, model_read, model_write, m);
  if (st != RL_OK) {
    free(m->fns);
    (void)munmap(arena, ARENA_SIZE);
    *m = (struct pci_model){0};
  }
  return st;
}

void pci_model_free(struct pci_model *m) {
  if (m->fns != NULL) {
    (void)host_mmio_unregister(m->arena);
    for (unsigned i = 0; i < 32 * 8; i++) {
      for (unsigned b = 0; b < 6; b++) {
        if (m->fns[i].bar_va[b] != NULL) {
          (void)host_mmio_unregister(m->fns[i].bar_va[b]);
        }
      }
    }
    free(m->fns);
    (void)munmap(m->arena, ARENA_SIZE);
  }
  *m = (struct pci_model){0};
}

void pci_model_reset(struct pci_model *m) {
  for (unsigned i = 0; i < 32 * 8; i++) {
    if (!m->fns[i].present) {
      continue;
    }
    for (unsigned b = 0; b < 6; b++) {
      if (m->fns[i].bar_va[b] != NULL) {
        (void)host_mmio_unregister(m->fns[i].bar_va[b]);
      }
    }
    memset(&m->fns[i], 0, sizeof(m->fns[i]));
  }
  m->arena_used = ECAM_SIZE;
  m->sizing_while_decoding = 0;
}

void pci_model_bar_handler(struct pci_model_fn *f, unsigned i,
                           pci_model_bar_read read, pci_model_bar_write write,
                           void *ctx) {
  f->bar_read[i] = read;
  f->bar_write[i] = write;
  f->bar_ctx[i] = ctx;
}

/* The bus address BAR `b` of `f` holds now (0: none). */
static uint64_t bar_addr(const struct pci_model_fn *f, unsigned b) {
  uint32_t lo = pci_model_get32(f, 0x10 + 4 * b);
  if (lo & 1u) {
    return 0;
  }
  uint64_t a = lo & ~0xfu;
  if ((lo & 0x6u) == 0x4u && b < 5) {
    a |= (uint64_t)pci_model_get32(f, 0x14 + 4 * b) << 32;
  }
  return a;
}

rl_status pci_model_ioremap(struct pci_model *m, paddr_t pa, uint64_t size,
                            volatile void **out) {
  for (unsigned i = 0; i < 32 * 8; i++) {
    struct pci_model_fn *f = &m->fns[i];
    /* A BAR answers only while memory decoding is on (PCI 3.0 §6.2.2). */
    bool decodes = (f->cfg[4] & 0x2u) != 0;
    for (unsigned b = 0; f->present && decodes && b < 6; b++) {
      if (upper_half(f, b)) {
        continue;
      }
      uint64_t base = bar_addr(f, b);
      if (f->bar_read[b] == NULL || base == 0 || pa < base ||
          pa - base >= f->bar_size[b]) {
        continue;
      }
      if (pa - base + size > f->bar_size[b]) {
        return RL_ERR_OUT_OF_RANGE;
      }
      if (f->bar_va[b] == NULL) {
        size_t len = (size_t)f->bar_size[b];
        if (m->arena_used + len > ARENA_SIZE) {
          return RL_ERR_NO_MEMORY;
        }
        f->bar_va[b] = m->arena + m->arena_used;
        m->arena_used += (len + 4095) & ~(size_t)4095;
        rl_status st = host_mmio_register(f->bar_va[b], len, f->bar_read[b],
                                          f->bar_write[b], f->bar_ctx[b]);
        if (st != RL_OK) {
          f->bar_va[b] = NULL;
          return st;
        }
      }
      *out = (volatile uint8_t *)f->bar_va[b] + (pa - base);
      return RL_OK;
    }
  }
  if (size > ECAM_SIZE) {
    return RL_ERR_OUT_OF_RANGE;
  }
  m->ecam_pa = pa;
  m->ecam_size = size;
  *out = m->arena;
  return RL_OK;
}

struct pci_model_fn *pci_model_add(struct pci_model *m, unsigned dev,
                                   unsigned fn, uint16_t vendor,
                                   uint16_t device, uint16_t class_code,
                                   uint8_t header_type) {
  struct pci_model_fn *f = &m->fns[dev * 8 + fn];
  memset(f, 0, sizeof(*f));
  f->present = true;
  f->command_writable = CMD_WRITABLE;
  pci_model_set32(f, 0x00, vendor | ((uint32_t)device << 16));
  f->cfg[0x0a] = (uint8_t)class_code;
  f->cfg[0x0b] = (uint8_t)(class_code >> 8);
  f->cfg[0x0e] = header_type;
  f->cfg[0x3d] = 1;
  return f;
}

void pci_model_bar(struct pci_model_fn *f, unsigned i, uint64_t size,
                   uint32_t flags) {
  f->bar_size[i] = size;
  pci_model_set32(f, 0x10 + 4 * i, flags);
}

void pci_model_cap(struct pci_model_fn *f, unsigned where, uint8_t id,
                   const void *body, size_t len) {
  /* Link it after the last capability. */
  f->cfg[0x06] |= 0x10;
  if (f->cfg[0x34] == 0) {
    f->cfg[0x34] = (uint8_t)where;
  } else {
    unsigned p = f->cfg[0x34];
    for (unsigned n = 0; f->cfg[p + 1] != 0 && n < 64; n++) {
      p = f->cfg[p + 1];
    }
    f->cfg[p + 1] = (uint8_t)where;
  }
  f->cfg[where] = id;
  f->cfg[where + 1] = 0;
  if (len > 0) {
    memcpy(&f->cfg[where + 2], body, len);
  }
}
