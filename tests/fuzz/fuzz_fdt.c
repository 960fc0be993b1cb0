/* The device-tree reader (devicetree/fdt.c) on arbitrary blobs, against
 * libfdt, and the virtio-mmio discovery built on it
 * (virtio/transport-mmio/mmio_scan.c).
 *
 * On every input (copied into a buffer of exactly its size):
 *   - fdt_open on the blob, and on a copy cut to its totalsize: the same
 *     verdict (nothing past totalsize is read or matters);
 *   - if the reader accepts: every accessor on every node (the O(n) ones
 *     on a sample), each result inside the blob's blocks, every loop
 *     bounded; discovery of the virtio,mmio slots ends;
 *   - if libfdt's fdt_check_full accepts too (and the root is at offset
 *     0, which libfdt's lookups assume): both see the same nodes, names,
 *     properties (same bytes at the same address), children, parents,
 *     paths, phandles, compatible matches and reservations;
 *   - if libfdt accepts and the reader rejects: the blob must break one of
 *     the rules the reader documents beyond fdt_check_full (rule_broken,
 *     written here from devicetree/README.md and the spec), or the reader
 *     rejected a valid tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <arch/vm.h>
#include <devicetree/fdt.h>
#include <virtio/transport-mmio/mmio.h>

#include "fuzz_util.h"

#define SAMPLE 8 /* nodes that get the O(n) calls */

/* mmio_scan.c maps each slot's registers: a zeroed page stands in. */
static uint8_t fake_regs[4096];

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  (void)pa;
  (void)size;
  *out = fake_regs;
  return RL_OK;
}

/* The core's driver table (drivers/registry.c in the kernel), which the
 * transport's target brings in: nothing is bound here. */
const struct virtio_driver *const virtio_drivers[] = {NULL};
const size_t virtio_driver_count = 0;

static uint32_t be32(const uint8_t *p) { return fdt_be32(p); }

static bool inside(const struct fdt *f, const void *p, size_t len, uint32_t off,
                   uint32_t size) {
  const uint8_t *lo = f->blob + off, *q = p;
  return q >= lo && (size_t)(q - lo) <= size && len <= size - (size_t)(q - lo);
}

static bool in_struct(const struct fdt *f, const void *p, size_t len) {
  return inside(f, p, len, f->struct_off, f->struct_size);
}

static bool in_strings(const struct fdt *f, const char *s) {
  size_t room = 0;
  const uint8_t *lo = f->blob + f->strings_off;
  if ((const uint8_t *)s < lo ||
      (size_t)((const uint8_t *)s - lo) >= f->strings_size) {
    return false;
  }
  room = f->strings_size - (size_t)((const uint8_t *)s - lo);
  return memchr(s, '\0', room) != NULL;
}

/* ---- the reader alone ------------------------------------------------- */

struct walk {
  int nodes[4096];
  int depth[4096];
  unsigned n;
  bool overflow;
};

static struct walk W;

static void check_props(const struct fdt *f, int node) {
  struct fdt_prop p;
  unsigned limit = f->struct_size / 12 + 1;
  unsigned i = 0;
  for (; fdt_prop_at(f, node, i, &p) == RL_OK; i++) {
    FUZZ_CHECK(i < limit, "more properties than the block holds");
    FUZZ_CHECK(in_struct(f, p.data, p.len), "property value outside the "
                                            "structure block");
    FUZZ_CHECK(in_strings(f, p.name), "property name outside the strings "
                                      "block or unterminated");
    struct fdt_prop q;
    FUZZ_CHECK(fdt_get_prop(f, node, p.name, &q) == RL_OK &&
                   strcmp(q.name, p.name) == 0,
               "fdt_get_prop(\"%s\") misses a property fdt_prop_at found",
               p.name);
    const char *s;
    if (fdt_get_str(f, node, p.name, &s) == RL_OK) {
      FUZZ_CHECK(s == q.data && memchr(s, '\0', q.len) != NULL,
                 "fdt_get_str past its property");
    }
    uint32_t u;
    rl_status st = fdt_get_u32(f, node, p.name, &u);
    FUZZ_CHECK(st == (q.len == 4 ? RL_OK : RL_ERR_BAD_FORMAT),
               "fdt_get_u32 on a %u-byte property: %d", q.len, st);
  }
  FUZZ_CHECK(fdt_prop_at(f, node, i, &p) == RL_ERR_NOT_FOUND, "prop_at end");
}

/* The O(n) calls. */
static void check_heavy(const struct fdt *f, int node, int depth) {
  int parent, d = -1, next;
  rl_status st = fdt_parent(f, node, &parent);
  FUZZ_CHECK(depth == 0 ? st == RL_ERR_NOT_FOUND : st == RL_OK && parent < node,
             "fdt_parent at depth %d: %d", depth, st);
  st = fdt_walk_next(f, node, &next, &d);
  FUZZ_CHECK(st == RL_ERR_NOT_FOUND || (st == RL_OK && next > node && d >= 1 &&
                                        d <= depth + 1 && d < FDT_MAX_DEPTH),
             "fdt_walk_next with depth from depth %d: %d, depth %d", depth, st,
             d);
  uint32_t ac, sc;
  st = fdt_reg_cells(f, node, &ac, &sc);
  if (st == RL_OK) {
    FUZZ_CHECK(ac <= 2 && sc <= 2, "cells %u/%u", ac, sc);
  }
  uint64_t a, s;
  for (unsigned r = 0; fdt_get_reg(f, node, r, &a, &s) == RL_OK; r++) {
    FUZZ_CHECK(r < f->struct_size / 4, "reg entries");
  }
  uint32_t ph;
  if (fdt_get_u32(f, node, "phandle", &ph) == RL_OK && ph != 0 &&
      ph != 0xffffffffu) {
    int found;
    FUZZ_CHECK(fdt_find_phandle(f, ph, &found) == RL_OK && found <= node,
               "phandle %#x not found", ph);
  }
  int ip;
  uint32_t cells[4], ic;
  size_t nc;
  st = fdt_interrupt_parent(f, node, &ip, &ic);
  if (st == RL_OK) {
    FUZZ_CHECK(fdt_node_name(f, ip) != NULL, "interrupt parent not a node");
  }
  if (!fdt_has_prop(f, node, "interrupts")) {
    return;
  }
  /* Each call follows interrupt-parent again: up to 64 hops, each a walk
   * of the tree (O(64 n)); two specifiers are enough here. */
  for (unsigned r = 0; r < 2; r++) {
    st = fdt_get_interrupt(f, node, r, cells, RL_ARRAY_SIZE(cells), &nc);
    if (st != RL_OK && st != RL_ERR_NO_SPACE) {
      break;
    }
    FUZZ_CHECK(r < f->struct_size / 4, "interrupt specifiers");
    FUZZ_CHECK(st == RL_OK ? nc <= RL_ARRAY_SIZE(cells)
                           : nc > RL_ARRAY_SIZE(cells),
               "specifier of %zu cells: %d", nc, st);
    if (st == RL_ERR_NO_SPACE) {
      break;
    }
  }
}

/* Walks the whole tree with every accessor, recording the nodes. */
static void walk_ours(const struct fdt *f) {
  const int max_nodes = (int)(f->struct_size / 8) + 1;
  int node = fdt_root(f);
  FUZZ_CHECK(node >= 0, "fdt_root of an open tree: %d", node);
  W.n = 0;
  W.overflow = false;
  for (int count = 0;; count++) {
    FUZZ_CHECK(count < max_nodes, "more nodes than the block holds");
    const char *name = fdt_node_name(f, node);
    FUZZ_CHECK(name != NULL && in_struct(f, name, strlen(name) + 1),
               "node name outside the structure block");
    FUZZ_CHECK(count > 0 || name[0] == '\0', "root with a name");
    if (W.n < RL_ARRAY_SIZE(W.nodes)) {
      W.nodes[W.n] = node;
      W.depth[W.n++] = -1; /* filled in for the sample below */
    } else {
      W.overflow = true;
    }
    check_props(f, node);
    (void)fdt_node_enabled(f, node);
    (void)fdt_is_compatible(f, node, "virtio,mmio");
    int child, n = 0;
    for (rl_status st = fdt_first_child(f, node, &child); st == RL_OK;
         st = fdt_next_sibling(f, child, &child)) {
      FUZZ_CHECK(child > node && ++n < max_nodes, "children");
    }
    int next;
    rl_status st = fdt_walk_next(f, node, &next, NULL);
    if (st != RL_OK) {
      FUZZ_CHECK(st == RL_ERR_NOT_FOUND, "fdt_walk_next: %d", st);
      break;
    }
    FUZZ_CHECK(next > node, "walk went backwards");
    node = next;
  }
  /* Depths (O(n) each) on a sample, from the previous node's walk. */
  unsigned stride = W.n > SAMPLE ? W.n / SAMPLE : 1;
  for (unsigned i = 0; i < W.n; i += stride) {
    int d = 0, next = -1;
    if (i > 0) {
      FUZZ_CHECK(fdt_walk_next(f, W.nodes[i - 1], &next, &d) == RL_OK &&
                     next == W.nodes[i] && d >= 1 && d < FDT_MAX_DEPTH,
                 "walk with depth to node %d: %d depth %d", W.nodes[i], next,
                 d);
    }
    W.depth[i] = d;
  }
  for (unsigned i = 0; i < W.n; i += stride) {
    check_heavy(f, W.nodes[i], W.depth[i]);
  }
  int hit, from = -1, n = 0;
  while (fdt_find_compatible(f, from, "virtio,mmio", &hit) == RL_OK) {
    FUZZ_CHECK(hit > from && ++n < max_nodes, "find_compatible");
    from = hit;
  }
  uint64_t a, s;
  for (unsigned r = 0; fdt_mem_rsv(f, r, &a, &s) == RL_OK; r++) {
    FUZZ_CHECK(r < f->size / 16, "reservations");
  }
  int x;
  (void)fdt_path(f, "/", &x);
  (void)fdt_path(f, "/cpus/cpu@0", &x);
  (void)fdt_path(f, "//soc//", &x);
  /* Discovery ends, whatever the slots hold (O(slots^2 * n): bounded). */
  if (W.n <= 32) {
    (void)virtio_mmio_log_slots(f);
  }
}

/* ---- against libfdt ---------------------------------------------------- */

/* Cells of `parent` as libfdt reads them: def when absent, -1 if not one
 * cell. */
static int lib_cells(const void *b, int parent, const char *name, int def) {
  int len;
  const uint8_t *v = fdt_getprop(b, parent, name, &len);
  if (v == NULL) {
    return def;
  }
  if (len != 4) {
    return -1;
  }
  uint32_t c = be32(v);
  return c > 64 ? 64 : (int)c;
}

static void compare_reg(const struct fdt *f, const uint8_t *b, int node) {
  int parent = fdt_parent_offset(b, node);
  uint32_t oac, osc;
  uint64_t a, s;
  rl_status st = fdt_reg_cells(f, node, &oac, &osc);
  if (parent < 0) {
    FUZZ_CHECK(st == RL_OK && oac == 2 && osc == 1, "root reg cells");
    return;
  }
  int ac = lib_cells(b, parent, "#address-cells", 2);
  int sc = lib_cells(b, parent, "#size-cells", 1);
  if (ac < 0 || (ac <= 2 && sc < 0)) {
    FUZZ_CHECK(st == RL_ERR_BAD_FORMAT, "malformed cells: %d", st);
    return;
  }
  if (ac > 2 || sc > 2) {
    FUZZ_CHECK(st == RL_ERR_NOT_SUPPORTED, "cells %d/%d: %d", ac, sc, st);
    return;
  }
  FUZZ_CHECK(st == RL_OK && oac == (uint32_t)ac && osc == (uint32_t)sc,
             "cells %u/%u, libfdt %d/%d", oac, osc, ac, sc);
  int len;
  const uint8_t *reg = fdt_getprop(b, node, "reg", &len);
  st = fdt_get_reg(f, node, 0, &a, &s);
  if (reg == NULL) {
    FUZZ_CHECK(st == RL_ERR_NOT_FOUND, "reg absent: %d", st);
    return;
  }
  int entry = 4 * (ac + sc);
  if (entry == 0 || len % entry != 0) {
    FUZZ_CHECK(st == RL_ERR_BAD_FORMAT, "reg of %d bytes: %d", len, st);
    return;
  }
  for (int i = 0; i <= len / entry; i++) {
    st = fdt_get_reg(f, node, (unsigned)i, &a, &s);
    if (i == len / entry) {
      FUZZ_CHECK(st == RL_ERR_NOT_FOUND, "reg past the end: %d", st);
      break;
    }
    const uint8_t *e = reg + (size_t)i * (size_t)entry;
    uint64_t wa = 0, ws = 0;
    for (int c = 0; c < ac; c++) {
      wa = wa << 32 | be32(e + (size_t)4 * (size_t)c);
    }
    for (int c = 0; c < sc; c++) {
      ws = ws << 32 | be32(e + (size_t)4 * (size_t)(ac + c));
    }
    FUZZ_CHECK(st == RL_OK && a == wa && s == ws, "reg %d differs", i);
  }
}

static void compare(const struct fdt *f, const uint8_t *b) {
  int ldepth = -1;
  int lo = fdt_next_node(b, -1, &ldepth);
  bool root_at_0 = lo == 0;
  for (unsigned i = 0; i < W.n; i++) {
    int node = W.nodes[i];
    FUZZ_CHECK(lo == node, "node %u: libfdt %d, ours %d", i, lo, node);
    FUZZ_CHECK(W.depth[i] < 0 || ldepth == W.depth[i],
               "node %d depth: libfdt %d, ours %d", node, ldepth, W.depth[i]);
    int nlen;
    const char *lname = fdt_get_name(b, node, &nlen);
    FUZZ_CHECK(lname != NULL && lname == fdt_node_name(f, node), "node %d name",
               node);
    unsigned idx = 0;
    for (int po = fdt_first_property_offset(b, node); po >= 0;
         po = fdt_next_property_offset(b, po), idx++) {
      const char *pname;
      int plen;
      const void *pdata = fdt_getprop_by_offset(b, po, &pname, &plen);
      struct fdt_prop p;
      FUZZ_CHECK(pdata != NULL && fdt_prop_at(f, node, idx, &p) == RL_OK &&
                     p.name == pname && p.data == pdata &&
                     p.len == (uint32_t)plen,
                 "node %d property %u differs", node, idx);
      int glen;
      const void *g = fdt_getprop(b, node, pname, &glen);
      struct fdt_prop q;
      FUZZ_CHECK(fdt_get_prop(f, node, pname, &q) == RL_OK && q.data == g &&
                     q.len == (uint32_t)glen,
                 "node %d: first \"%s\" differs", node, pname);
    }
    struct fdt_prop p;
    FUZZ_CHECK(fdt_prop_at(f, node, idx, &p) == RL_ERR_NOT_FOUND,
               "node %d: more properties than libfdt sees", node);
    int lc = fdt_first_subnode(b, node), oc;
    rl_status st = fdt_first_child(f, node, &oc);
    for (; lc >= 0; lc = fdt_next_subnode(b, lc)) {
      FUZZ_CHECK(st == RL_OK && oc == lc, "node %d: children differ", node);
      st = fdt_next_sibling(f, oc, &oc);
    }
    FUZZ_CHECK(st == RL_ERR_NOT_FOUND, "node %d: more children", node);
    if (root_at_0) {
      int clen;
      const char *cl = fdt_getprop(b, node, "compatible", &clen);
      for (int k = 0; cl != NULL && k < clen;) {
        const char *c = cl + k;
        const char *nul = memchr(c, '\0', (size_t)(clen - k));
        if (nul == NULL) {
          break;
        }
        k += (int)(nul - c) + 1;
        if (nul == c) {
          continue; /* libfdt matches "" one byte past the list */
        }
        FUZZ_CHECK(fdt_is_compatible(f, node, c) ==
                       (fdt_node_check_compatible(b, node, c) == 0),
                   "node %d compatible \"%s\"", node, c);
      }
      uint32_t ph = fdt_get_phandle(b, node);
      if (ph != 0 && ph != 0xffffffffu) {
        int found;
        FUZZ_CHECK(fdt_find_phandle(f, ph, &found) == RL_OK &&
                       found == fdt_node_offset_by_phandle(b, ph),
                   "phandle %#x", ph);
      }
    }
    if (root_at_0 && W.depth[i] >= 0) {
      int parent, lp = fdt_parent_offset(b, node);
      st = fdt_parent(f, node, &parent);
      FUZZ_CHECK(lp < 0 ? st == RL_ERR_NOT_FOUND : st == RL_OK && parent == lp,
                 "node %d parent: libfdt %d, ours %d/%d", node, lp, st, parent);
      char path[512];
      if (fdt_get_path(b, node, path, sizeof(path)) == 0) {
        int found, lf = fdt_path_offset(b, path);
        st = fdt_path(f, path, &found);
        FUZZ_CHECK((st == RL_OK ? found : -1) == (lf >= 0 ? lf : -1),
                   "path \"%s\": libfdt %d, ours %d", path, lf,
                   st == RL_OK ? found : st);
      }
      compare_reg(f, b, node);
    }
    lo = fdt_next_node(b, node, &ldepth);
  }
  if (!W.overflow) {
    FUZZ_CHECK(lo < 0 || ldepth < 0, "libfdt has more nodes: %d", lo);
  }
  /* libfdt ends the map at the first size-0 entry; the spec at (0, 0). */
  int nrsv = fdt_num_mem_rsv(b);
  for (int i = 0; i < nrsv; i++) {
    uint64_t a, s, la, ls;
    FUZZ_CHECK(fdt_get_mem_rsv(b, i, &la, &ls) == 0 &&
                   fdt_mem_rsv(f, (unsigned)i, &a, &s) == RL_OK && a == la &&
                   s == ls,
               "reservation %d", i);
  }
}

/* ---- the reader's rules beyond fdt_check_full -------------------------- */

/* NULL when the blob (which fdt_check_full accepted) meets every rule
 * devicetree/README.md lists for fdt_open; else the rule it breaks. */
static const char *rule_broken(const uint8_t *b, size_t len) {
  if (len < 40) {
    return "shorter than a version 17 header";
  }
  uint32_t total = fdt_totalsize(b), ver = fdt_version(b);
  uint32_t last = fdt_last_comp_version(b);
  if (ver < 16 || last > 17 || last > ver) {
    return "version";
  }
  uint32_t hdr = ver >= 17 ? 40 : 36;
  uint32_t ro = fdt_off_mem_rsvmap(b), so = fdt_off_dt_struct(b);
  uint32_t to = fdt_off_dt_strings(b), ts = fdt_size_dt_strings(b);
  if (total > 0x7fffffffu || total < hdr) {
    return "totalsize";
  }
  if (ro < hdr || ro > total || ro % 8 != 0) {
    return "reservation map offset";
  }
  if (so < hdr || so > total || so % 4 != 0) {
    return "structure block offset";
  }
  if (to < hdr || to > total || ts > total - to) {
    return "strings block";
  }
  uint64_t ss = total - so;
  if (ver >= 17) {
    ss = fdt_size_dt_struct(b);
    if (ss > total - so) {
      return "structure block size";
    }
  }
  uint64_t rend = ro;
  for (;;) {
    if (rend + 16 > total) {
      return "reservation map without a (0, 0) entry";
    }
    bool zero = true;
    for (int k = 0; k < 16; k++) {
      zero = zero && b[rend + (uint64_t)k] == 0;
    }
    rend += 16;
    if (zero) {
      break;
    }
  }
  int depth = 0, roots = 0, off = 0, next = 0;
  uint64_t has_child = 0;
  uint32_t tag;
  do {
    off = next;
    tag = fdt_next_tag(b, off, &next);
    if (next < 0) {
      return "token";
    }
    if ((uint64_t)next > ss) {
      return "token past the structure block";
    }
    if (tag == FDT_BEGIN_NODE) {
      int nl = 0;
      const char *name = fdt_get_name(b, off, &nl);
      if (name == NULL) {
        return "node name";
      }
      if (depth == 0) {
        if (roots++ > 0) {
          return "second root";
        }
        if (nl != 0) {
          return "named root";
        }
      } else if (nl == 0) {
        return "empty node name";
      }
      if (depth >= FDT_MAX_DEPTH) {
        return "deeper than FDT_MAX_DEPTH";
      }
      has_child |= 1ull << depth;
      depth++;
      has_child &= ~(1ull << depth);
    } else if (tag == FDT_END_NODE) {
      depth--;
    } else if (tag == FDT_PROP) {
      uint32_t plen = be32(b + so + (uint32_t)off + 4);
      if ((uint64_t)(uint32_t)off + 12 + plen > (uint64_t)(uint32_t)next) {
        return "property length wraps";
      }
      if (depth == 0) {
        return "property outside a node";
      }
      if ((has_child >> depth) & 1) {
        return "property after a child node";
      }
      const char *pname;
      if (fdt_getprop_by_offset(b, off, &pname, NULL) == NULL ||
          pname[0] == '\0') {
        return "empty property name";
      }
      /* libfdt bounds a version 16 name by totalsize only. */
      uint32_t noff = be32(b + so + (uint32_t)off + 8);
      if (noff >= ts || memchr(b + to + noff, '\0', ts - noff) == NULL) {
        return "property name not inside the strings block";
      }
    }
  } while (tag != FDT_END);
  if (roots != 1) {
    return "no root";
  }
  if (ver < 17) {
    ss = (uint32_t)next;
  }
  uint64_t blk[3][2] = {{ro, rend - ro}, {so, ss}, {to, ts}};
  for (int i = 0; i < 3; i++) {
    for (int j = i + 1; j < 3; j++) {
      if (blk[i][1] != 0 && blk[j][1] != 0 &&
          blk[i][0] < blk[j][0] + blk[j][1] &&
          blk[j][0] < blk[i][0] + blk[i][1]) {
        return "blocks overlap";
      }
    }
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *buf = malloc(size > 0 ? size : 1);
  FUZZ_CHECK(buf != NULL, "malloc");
  memcpy(buf, data, size);
  struct fdt f;
  rl_status st = fdt_open(&f, buf, size);
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_BAD_FORMAT, "fdt_open: %d", st);

  /* Cut to totalsize: the same verdict. */
  if (size >= 8) {
    uint32_t total = be32(buf + 4);
    if (total <= size && total < size) {
      uint8_t *cut = malloc(total > 0 ? total : 1);
      FUZZ_CHECK(cut != NULL, "malloc");
      memcpy(cut, buf, total);
      struct fdt g;
      rl_status st2 = fdt_open(&g, cut, total);
      FUZZ_CHECK(st2 == st, "verdict %d on the blob, %d cut to totalsize %u",
                 st, st2, total);
      free(cut);
    }
  }

  /* Versions before 16 (names as full paths, realigned values): the reader
   * refuses them (devicetree/README.md), and libfdt 1.6.1's fdt_check_full
   * reads through a NULL pointer on some (corpus/fuzz_fdt/libfdt_v11_segv),
   * so it is not asked. */
  bool old_version =
      size >= 40 && fdt_magic(buf) == FDT_MAGIC && fdt_version(buf) < 16;
  FUZZ_CHECK(!old_version || st == RL_ERR_BAD_FORMAT,
             "fdt_open accepted a version %u blob", fdt_version(buf));
  bool lib_ok = size >= 40 && !old_version && fdt_check_full(buf, size) == 0;
  if (st == RL_OK) {
    walk_ours(&f);
    if (lib_ok) {
      compare(&f, buf);
    }
  } else if (lib_ok) {
    const char *why = rule_broken(buf, size);
    FUZZ_CHECK(why != NULL, "fdt_open rejected a blob that libfdt accepts and "
                            "that breaks none of the documented rules");
    if (fuzz_verbose()) {
      (void)fprintf(stderr, "only libfdt accepts: %s\n", why);
    }
  }
  free(buf);
  return 0;
}
