/* Host tests for devicetree/fdt.c: the QEMU virt trees, a node-by-node
 * cross-check against libfdt, hand-built malformed blobs, and sweeps of
 * truncated and corrupted copies. Every blob under test sits in a heap
 * buffer of exactly its length so ASan reports any overread. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libfdt, the reference; its names do not clash with ours. */
#include <libfdt.h>

#include <devicetree/fdt.h>
#include <tests/unit/support/fixture.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

/* ---- blobs ------------------------------------------------------------ */

struct blob {
  uint8_t *data;
  size_t len;
};

static struct blob g_a64, g_rv64, g_loop;

static struct blob load(const char *name) {
  struct blob b;
  b.data = fixture_load(name, 0, &b.len);
  return b;
}

static int setup_all(void **state) {
  (void)state;
  g_a64 = load("qemu_virt_aarch64.dtb");
  g_rv64 = load("qemu_virt_riscv64.dtb");
  g_loop = load("irq_loop.dtb");
  return 0;
}

static int teardown_all(void **state) {
  (void)state;
  free(g_a64.data);
  free(g_rv64.data);
  free(g_loop.data);
  return 0;
}

/* An exactly-sized heap copy of the first len bytes. */
static uint8_t *dup_len(const uint8_t *p, size_t len) {
  uint8_t *b = malloc(len ? len : 1);
  assert_non_null(b);
  if (len) {
    memcpy(b, p, len);
  }
  return b;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Header field offsets (devicetree spec 0.4 §5.2). */
enum {
  H_MAGIC = 0,
  H_TOTAL = 4,
  H_STRUCT = 8,
  H_STRINGS = 12,
  H_RSV = 16,
  H_VERSION = 20,
  H_LASTCOMP = 24,
  H_STRINGS_SIZE = 32,
  H_STRUCT_SIZE = 36,
};

static void open_ok(struct fdt *f, const struct blob *b) {
  assert_int_equal(fdt_open(f, b->data, b->len), RL_OK);
}

/* ---- walking everything: must stay in bounds and end ------------------ */

static bool in_range(const struct fdt *f, const void *p, size_t len,
                     uint32_t off, uint32_t size) {
  const uint8_t *lo = f->blob + off;
  const uint8_t *q = p;
  return q >= lo && q <= lo + size && len <= (size_t)(lo + size - q);
}

/* Calls every accessor on the nodes of an opened blob. stride > 1 calls
 * the costly ones (O(n) each) only on every stride-th node. Returns the
 * node count. */
static int walk_all(const struct fdt *f, int stride) {
  int node = fdt_root(f);
  int depth = 0;
  int count = 0;
  const int max_nodes = (int)(f->struct_size / 8) + 1;
  assert_true(node >= 0);
  for (;;) {
    const char *name = fdt_node_name(f, node);
    assert_non_null(name);
    assert_true(
        in_range(f, name, strlen(name) + 1, f->struct_off, f->struct_size));
    bool heavy = count % stride == 0;
    if (heavy) {
      assert_true(depth >= 0 && depth < FDT_MAX_DEPTH);
    }

    struct fdt_prop p;
    unsigned i = 0;
    for (; fdt_prop_at(f, node, i, &p) == RL_OK; i++) {
      assert_true(i < f->struct_size / 12);
      assert_true(in_range(f, p.data, p.len, f->struct_off, f->struct_size));
      assert_true(in_range(f, p.name, strlen(p.name) + 1, f->strings_off,
                           f->strings_size));
      struct fdt_prop q;
      assert_int_equal(fdt_get_prop(f, node, p.name, &q), RL_OK);
      assert_string_equal(q.name, p.name);
      uint32_t u;
      const char *s;
      (void)fdt_get_u32(f, node, p.name, &u);
      if (fdt_get_str(f, node, p.name, &s) == RL_OK) { /* q: first of name */
        assert_true(s == q.data && strlen(s) < q.len);
      }
    }
    (void)fdt_is_compatible(f, node, "virtio,mmio");
    (void)fdt_node_enabled(f, node);

    int child, n = 0;
    for (rl_status st = fdt_first_child(f, node, &child); st == RL_OK;
         st = fdt_next_sibling(f, child, &child)) {
      assert_true(child > node);
      assert_true(++n <= max_nodes);
    }

    if (heavy) {
      int parent;
      rl_status st = fdt_parent(f, node, &parent);
      if (depth == 0) {
        assert_int_equal(st, RL_ERR_NOT_FOUND);
      } else {
        assert_int_equal(st, RL_OK);
      }
      uint64_t a, sz;
      for (unsigned r = 0; fdt_get_reg(f, node, r, &a, &sz) == RL_OK; r++) {
        assert_true(r < f->struct_size / 4);
      }
      int ip;
      uint32_t cells[8], ph, ic;
      size_t nc;
      (void)fdt_interrupt_parent(f, node, &ip, &ic);
      for (unsigned r = 0;
           fdt_get_interrupt(f, node, r, cells, 8, &nc) == RL_OK; r++) {
        assert_true(r < f->struct_size / 4 && nc <= 8);
      }
      if (fdt_get_u32(f, node, "phandle", &ph) == RL_OK) {
        int found;
        assert_true(fdt_find_phandle(f, ph, &found) == RL_OK || ph == 0 ||
                    ph == 0xffffffffu);
      }
    }

    count++;
    assert_true(count <= max_nodes);
    int next;
    rl_status st = fdt_walk_next(f, node, &next, heavy ? &depth : NULL);
    if (st != RL_OK) {
      assert_int_equal(st, RL_ERR_NOT_FOUND);
      break;
    }
    assert_true(next > node);
    node = next;
  }

  int hit, from = -1, n = 0;
  while (fdt_find_compatible(f, from, "virtio,mmio", &hit) == RL_OK) {
    assert_true(hit > from && ++n <= max_nodes);
    from = hit;
  }
  uint64_t a, s;
  for (unsigned r = 0; fdt_mem_rsv(f, r, &a, &s) == RL_OK; r++) {
    assert_true(r < f->size / 16);
  }
  int x;
  (void)fdt_path(f, "/", &x);
  (void)fdt_path(f, "/soc/virtio_mmio/x", &x);
  (void)fdt_path(f, "/cpus/cpu@0", &x);
  return count;
}

/* ---- libfdt cross-check ----------------------------------------------- */

/* A cell count of `parent` read with libfdt: the default when absent,
 * -1 when not one cell. */
static int cells_of(const uint8_t *b, int parent, const char *name, int def) {
  int len;
  const uint8_t *v = fdt_getprop(b, parent, name, &len);
  if (v == NULL) {
    return def;
  }
  if (len != 4) {
    return -1;
  }
  uint32_t n = get32(v);
  return n > 1000 ? 1000 : (int)n;
}

/* fdt_reg_cells and fdt_get_reg against the raw bytes libfdt gives. */
static void check_reg(const struct fdt *f, const uint8_t *b, int off) {
  int parent = fdt_parent_offset(b, off);
  if (parent < 0) {
    return;
  }
  int ac = cells_of(b, parent, "#address-cells", 2);
  int sc = cells_of(b, parent, "#size-cells", 1);
  uint32_t oac, osc;
  rl_status st = fdt_reg_cells(f, off, &oac, &osc);
  if (ac < 0 || (ac <= 2 && sc < 0)) {
    assert_int_equal(st, RL_ERR_BAD_FORMAT);
    return;
  }
  if (ac > 2 || sc > 2) {
    assert_int_equal(st, RL_ERR_NOT_SUPPORTED);
    return;
  }
  assert_int_equal(st, RL_OK);
  assert_int_equal(oac, (uint32_t)ac);
  assert_int_equal(osc, (uint32_t)sc);
  int len;
  const uint8_t *reg = fdt_getprop(b, off, "reg", &len);
  uint64_t a, s;
  if (reg == NULL) {
    assert_int_equal(fdt_get_reg(f, off, 0, &a, &s), RL_ERR_NOT_FOUND);
    return;
  }
  int entry = 4 * (ac + sc);
  if (entry == 0 || len % entry != 0) {
    assert_int_equal(fdt_get_reg(f, off, 0, &a, &s), RL_ERR_BAD_FORMAT);
    return;
  }
  int i = 0;
  for (; i < len / entry; i++) {
    const uint8_t *e = reg + (size_t)i * (size_t)entry;
    uint64_t ea = 0, es = 0;
    for (int c = 0; c < ac; c++) {
      ea = ea << 32 | get32(e + (size_t)4 * (size_t)c);
    }
    for (int c = 0; c < sc; c++) {
      es = es << 32 | get32(e + (size_t)4 * (size_t)(ac + c));
    }
    assert_int_equal(fdt_get_reg(f, off, (unsigned)i, &a, &s), RL_OK);
    assert_int_equal(a, ea);
    assert_int_equal(s, es);
  }
  assert_int_equal(fdt_get_reg(f, off, (unsigned)i, &a, &s), RL_ERR_NOT_FOUND);
}

/* "/a@1/b@2" with every unit address dropped. */
static void strip_units(const char *in, char *out) {
  bool skip = false;
  for (; *in; in++) {
    if (*in == '/') {
      skip = false;
    } else if (*in == '@') {
      skip = true;
    }
    if (!skip) {
      *out++ = *in;
    }
  }
  *out = '\0';
}

#define MAX_COMPATS 128

/* Both readers must see the same tree: node offsets, names, depths,
 * parents, children, properties (same bytes at the same address), and
 * agree on paths, compatible search, phandles and reservations. `full`
 * adds the O(n^2) parts (depths, parents, paths, reg). */
static void cross_check(const uint8_t *b, size_t len, bool full) {
  struct fdt f;
  assert_int_equal(fdt_open(&f, b, len), RL_OK);
  assert_int_equal(fdt_check_full(b, len), 0);
  const char *compats[MAX_COMPATS];
  int ncompat = 0;

  int ldepth = -1;
  int lo = fdt_next_node(b, -1, &ldepth);
  int oo = fdt_root(&f);
  assert_int_equal(oo, lo);
  assert_int_equal(ldepth, 0);
  int nodes = 0;
  while (lo >= 0 && ldepth >= 0) {
    assert_int_equal(oo, lo);
    int nlen;
    const char *lname = fdt_get_name(b, lo, &nlen);
    assert_non_null(lname);
    assert_string_equal(fdt_node_name(&f, oo), lname);
    assert_ptr_equal(fdt_node_name(&f, oo), lname);

    /* properties */
    unsigned idx = 0;
    int po;
    fdt_for_each_property_offset(po, b, lo) {
      const char *pname;
      int plen;
      const void *pdata = fdt_getprop_by_offset(b, po, &pname, &plen);
      assert_non_null(pdata);
      struct fdt_prop p;
      assert_int_equal(fdt_prop_at(&f, oo, idx, &p), RL_OK);
      assert_string_equal(p.name, pname);
      assert_ptr_equal(p.name, pname);
      assert_int_equal(p.len, (uint32_t)plen);
      assert_ptr_equal(p.data, pdata);
      assert_memory_equal(p.data, pdata, (size_t)plen);
      /* the first property of this name, as libfdt finds it */
      int glen;
      const void *g = fdt_getprop(b, lo, pname, &glen);
      struct fdt_prop q;
      assert_int_equal(fdt_get_prop(&f, oo, pname, &q), RL_OK);
      assert_ptr_equal(q.data, g);
      assert_int_equal(q.len, (uint32_t)glen);
      idx++;
    }
    struct fdt_prop p;
    assert_int_equal(fdt_prop_at(&f, oo, idx, &p), RL_ERR_NOT_FOUND);

    /* compatible: every listed string, and collect them */
    int clen;
    const char *cl = fdt_getprop(b, lo, "compatible", &clen);
    for (int i = 0; cl != NULL && i < clen;) {
      const char *s = cl + i;
      const char *nul = memchr(s, '\0', (size_t)(clen - i));
      if (nul == NULL) {
        break;
      }
      size_t sl = (size_t)(nul - s);
      i += (int)sl + 1;
      /* An empty string (only in corrupted blobs) is left out: libfdt's
       * fdt_stringlist_contains() compares one byte past the list, so it
       * "matches" "" on any node whose value is followed by padding. */
      if (sl == 0) {
        continue;
      }
      assert_int_equal(fdt_is_compatible(&f, oo, s),
                       fdt_node_check_compatible(b, lo, s) == 0);
      bool seen = false;
      for (int k = 0; k < ncompat; k++) {
        seen = seen || strcmp(compats[k], s) == 0;
      }
      if (!seen && ncompat < MAX_COMPATS) {
        compats[ncompat++] = s;
      }
    }
    assert_int_equal(fdt_is_compatible(&f, oo, "no-such,thing"),
                     fdt_node_check_compatible(b, lo, "no-such,thing") == 0);

    /* children */
    int lc = fdt_first_subnode(b, lo), oc;
    rl_status st = fdt_first_child(&f, oo, &oc);
    while (lc >= 0) {
      assert_int_equal(st, RL_OK);
      assert_int_equal(oc, lc);
      lc = fdt_next_subnode(b, lc);
      st = fdt_next_sibling(&f, oc, &oc);
    }
    assert_int_equal(st, RL_ERR_NOT_FOUND);

    /* phandle */
    uint32_t ph = fdt_get_phandle(b, lo);
    if (ph != 0 && ph != 0xffffffffu) {
      int found;
      assert_int_equal(fdt_find_phandle(&f, ph, &found), RL_OK);
      assert_int_equal(found, fdt_node_offset_by_phandle(b, ph));
    }

    if (full) {
      int parent;
      int lp = fdt_parent_offset(b, lo);
      st = fdt_parent(&f, oo, &parent);
      if (lp < 0) {
        assert_int_equal(st, RL_ERR_NOT_FOUND);
      } else {
        assert_int_equal(st, RL_OK);
        assert_int_equal(parent, lp);
      }
      char path[1024], stripped[1024];
      if (fdt_get_path(b, lo, path, sizeof(path)) == 0) {
        int found;
        int lf = fdt_path_offset(b, path);
        st = fdt_path(&f, path, &found);
        assert_int_equal(st == RL_OK ? found : -1, lf >= 0 ? lf : -1);
        strip_units(path, stripped);
        lf = fdt_path_offset(b, stripped);
        st = fdt_path(&f, stripped, &found);
        assert_int_equal(st == RL_OK ? found : -1, lf >= 0 ? lf : -1);
      }
      check_reg(&f, b, lo);
    }

    int od = 0;
    nodes++;
    lo = fdt_next_node(b, lo, &ldepth);
    st = fdt_walk_next(&f, oo, &oo, full ? &od : NULL);
    if (lo < 0 || ldepth < 0) {
      assert_int_equal(st, RL_ERR_NOT_FOUND);
      break;
    }
    assert_int_equal(st, RL_OK);
    if (full) {
      assert_int_equal(od, ldepth);
    }
  }
  assert_true(nodes > 0);

  /* compatible search, string by string (a few in the sweeps) */
  for (int k = 0; k < (full ? ncompat : 3) && k < ncompat; k++) {
    int lf = fdt_node_offset_by_compatible(b, -1, compats[k]);
    int from = -1, of;
    while (lf >= 0) {
      assert_int_equal(fdt_find_compatible(&f, from, compats[k], &of), RL_OK);
      assert_int_equal(of, lf);
      from = of;
      lf = fdt_node_offset_by_compatible(b, lf, compats[k]);
    }
    assert_int_equal(fdt_find_compatible(&f, from, compats[k], &of),
                     RL_ERR_NOT_FOUND);
  }

  /* Memory reservations. libfdt ends the map at the first entry of size
   * 0; the spec (§5.3.2) only at (0, 0), which is what we follow. */
  int nrsv = fdt_num_mem_rsv(b);
  assert_true(nrsv >= 0);
  uint64_t a, s, la, ls;
  uint32_t ro = fdt_off_mem_rsvmap(b);
  for (unsigned i = 0;; i++) {
    assert_true(ro + 16 * (i + 1) <= len);
    const uint8_t *e = b + ro + (size_t)16 * i;
    uint64_t ra = (uint64_t)get32(e) << 32 | get32(e + 4);
    uint64_t rs = (uint64_t)get32(e + 8) << 32 | get32(e + 12);
    if (ra == 0 && rs == 0) {
      assert_int_equal(fdt_mem_rsv(&f, i, &a, &s), RL_ERR_NOT_FOUND);
      assert_true((int)i >= nrsv);
      break;
    }
    assert_int_equal(fdt_mem_rsv(&f, i, &a, &s), RL_OK);
    assert_int_equal(a, ra);
    assert_int_equal(s, rs);
    if ((int)i < nrsv) {
      assert_int_equal(fdt_get_mem_rsv(b, (int)i, &la, &ls), 0);
      assert_int_equal(a, la);
      assert_int_equal(s, ls);
    }
  }
}

static void test_libfdt_aarch64(void **state) {
  (void)state;
  cross_check(g_a64.data, g_a64.len, true);
}

static void test_libfdt_riscv64(void **state) {
  (void)state;
  cross_check(g_rv64.data, g_rv64.len, true);
}

static void test_libfdt_irq_loop(void **state) {
  (void)state;
  cross_check(g_loop.data, g_loop.len, true);
}

/* ---- the QEMU trees ---------------------------------------------------- */

static int path_node(const struct fdt *f, const char *path) {
  int node = -1;
  assert_int_equal(fdt_path(f, path, &node), RL_OK);
  return node;
}

static int compat_node(const struct fdt *f, const char *compat) {
  int node = -1;
  assert_int_equal(fdt_find_compatible(f, -1, compat, &node), RL_OK);
  return node;
}

static void expect_reg(const struct fdt *f, int node, unsigned index,
                       uint64_t addr, uint64_t size) {
  uint64_t a, s;
  assert_int_equal(fdt_get_reg(f, node, index, &a, &s), RL_OK);
  assert_int_equal(a, addr);
  assert_int_equal(s, size);
}

static void check_memory(const struct fdt *f, const char *path, uint64_t base) {
  int mem = path_node(f, "/memory");
  assert_int_equal(mem, path_node(f, path));
  const char *type;
  assert_int_equal(fdt_get_str(f, mem, "device_type", &type), RL_OK);
  assert_string_equal(type, "memory");
  uint32_t ac, sc;
  assert_int_equal(fdt_reg_cells(f, mem, &ac, &sc), RL_OK);
  assert_int_equal(ac, 2);
  assert_int_equal(sc, 2);
  expect_reg(f, mem, 0, base, 200u << 20);
  assert_int_equal(0xC800000u, 200u << 20);
  uint64_t a, s;
  assert_int_equal(fdt_get_reg(f, mem, 1, &a, &s), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_mem_rsv(f, 0, &a, &s), RL_ERR_NOT_FOUND);
}

/* stdout-path in /chosen names the UART node. */
static void check_stdout(const struct fdt *f, int uart) {
  const char *out;
  assert_int_equal(fdt_get_str(f, path_node(f, "/chosen"), "stdout-path", &out),
                   RL_OK);
  assert_int_equal(path_node(f, out), uart);
}

static void test_aarch64_devices(void **state) {
  (void)state;
  struct fdt f;
  open_ok(&f, &g_a64);
  assert_int_equal(fdt_root(&f), 0);
  assert_string_equal(fdt_node_name(&f, 0), "");
  assert_true(fdt_is_compatible(&f, 0, "linux,dummy-virt"));
  check_memory(&f, "/memory@40000000", 0x40000000);

  int uart = compat_node(&f, "arm,pl011");
  assert_string_equal(fdt_node_name(&f, uart), "pl011@9000000");
  assert_true(fdt_is_compatible(&f, uart, "arm,primecell"));
  expect_reg(&f, uart, 0, 0x9000000, 0x1000);
  check_stdout(&f, uart);

  int gic = compat_node(&f, "arm,cortex-a15-gic");
  expect_reg(&f, gic, 0, 0x8000000, 0x10000);
  expect_reg(&f, gic, 1, 0x8010000, 0x10000);
  assert_true(fdt_has_prop(&f, gic, "interrupt-controller"));
  uint32_t cells;
  assert_int_equal(fdt_get_u32(&f, gic, "#interrupt-cells", &cells), RL_OK);
  assert_int_equal(cells, 3);

  /* The UART inherits the root's interrupt-parent: the GIC. */
  int ip;
  assert_int_equal(fdt_interrupt_parent(&f, uart, &ip, &cells), RL_OK);
  assert_int_equal(ip, gic);
  assert_int_equal(cells, 3);
  uint32_t irq[3];
  size_t n;
  assert_int_equal(fdt_get_interrupt(&f, uart, 0, irq, 3, &n), RL_OK);
  assert_int_equal(n, 3);
  assert_int_equal(irq[0], 0);
  assert_int_equal(irq[1], 1);
  assert_int_equal(irq[2], 4);
  assert_int_equal(fdt_get_interrupt(&f, uart, 0, irq, 2, &n), RL_ERR_NO_SPACE);
  assert_int_equal(n, 3);
  assert_int_equal(fdt_get_interrupt(&f, uart, 1, irq, 3, &n),
                   RL_ERR_NOT_FOUND);

  int psci = path_node(&f, "/psci");
  const char *method;
  assert_int_equal(fdt_get_str(&f, psci, "method", &method), RL_OK);
  assert_string_equal(method, "hvc");
  assert_true(fdt_is_compatible(&f, psci, "arm,psci-0.2"));
  assert_false(fdt_is_compatible(&f, psci, "arm,psci-0"));
  assert_false(fdt_is_compatible(&f, psci, "arm,psci-0.2x"));

  int cpu = path_node(&f, "/cpus/cpu@0");
  assert_true(fdt_is_compatible(&f, cpu, "arm,cortex-a72"));
  uint32_t ac, sc;
  assert_int_equal(fdt_reg_cells(&f, cpu, &ac, &sc), RL_OK);
  assert_int_equal(ac, 1);
  assert_int_equal(sc, 0);
  expect_reg(&f, cpu, 0, 0, 0);
  assert_true(fdt_node_enabled(&f, cpu));

  /* The timer has four 3-cell specifiers. */
  int timer = compat_node(&f, "arm,armv8-timer");
  assert_int_equal(fdt_get_interrupt(&f, timer, 3, irq, 3, &n), RL_OK);
  assert_int_equal(irq[1], 0x0a);
  assert_int_equal(fdt_get_interrupt(&f, timer, 4, irq, 3, &n),
                   RL_ERR_NOT_FOUND);
}

static void test_aarch64_virtio(void **state) {
  (void)state;
  struct fdt f;
  open_ok(&f, &g_a64);
  int gic = compat_node(&f, "arm,cortex-a15-gic");
  int node, from = -1;
  unsigned n = 0;
  while (fdt_find_compatible(&f, from, "virtio,mmio", &node) == RL_OK) {
    char name[32];
    (void)snprintf(name, sizeof(name), "virtio_mmio@%x", 0xa000000 + n * 0x200);
    assert_string_equal(fdt_node_name(&f, node), name);
    expect_reg(&f, node, 0, 0xa000000 + n * 0x200, 0x200);
    int ip;
    uint32_t cells, irq[4];
    size_t nc;
    assert_int_equal(fdt_interrupt_parent(&f, node, &ip, &cells), RL_OK);
    assert_int_equal(ip, gic);
    assert_int_equal(cells, 3);
    assert_int_equal(fdt_get_interrupt(&f, node, 0, irq, 4, &nc), RL_OK);
    assert_int_equal(nc, 3);
    assert_int_equal(irq[0], 0);
    assert_int_equal(irq[1], 16 + n);
    assert_int_equal(irq[2], 1);
    assert_true(fdt_has_prop(&f, node, "dma-coherent"));
    struct fdt_prop p;
    assert_int_equal(fdt_get_prop(&f, node, "dma-coherent", &p), RL_OK);
    assert_int_equal(p.len, 0);
    assert_true(fdt_node_enabled(&f, node));
    from = node;
    n++;
  }
  assert_int_equal(n, 32);
}

static void test_riscv64_devices(void **state) {
  (void)state;
  struct fdt f;
  open_ok(&f, &g_rv64);
  assert_true(fdt_is_compatible(&f, fdt_root(&f), "riscv-virtio"));
  check_memory(&f, "/memory@80000000", 0x80000000);

  int uart = compat_node(&f, "ns16550a");
  assert_int_equal(uart, path_node(&f, "/soc/serial@10000000"));
  assert_int_equal(uart, path_node(&f, "/soc/serial"));
  expect_reg(&f, uart, 0, 0x10000000, 0x100);
  check_stdout(&f, uart);

  int plic = compat_node(&f, "riscv,plic0");
  assert_string_equal(fdt_node_name(&f, plic), "plic@c000000");
  expect_reg(&f, plic, 0, 0xc000000, 0x600000);
  uint32_t v;
  assert_int_equal(fdt_get_u32(&f, plic, "riscv,ndev", &v), RL_OK);
  assert_int_equal(v, 0x60);

  int ip;
  uint32_t cells, irq[2];
  size_t n;
  assert_int_equal(fdt_interrupt_parent(&f, uart, &ip, &cells), RL_OK);
  assert_int_equal(ip, plic);
  assert_int_equal(cells, 1);
  assert_int_equal(fdt_get_interrupt(&f, uart, 0, irq, 2, &n), RL_OK);
  assert_int_equal(n, 1);
  assert_int_equal(irq[0], 0x0a);

  int cpus = path_node(&f, "/cpus");
  assert_int_equal(fdt_get_u32(&f, cpus, "timebase-frequency", &v), RL_OK);
  assert_int_equal(v, 10000000);
  int cpu = path_node(&f, "/cpus/cpu@0");
  const char *s;
  assert_int_equal(fdt_get_str(&f, cpu, "riscv,isa", &s), RL_OK);
  assert_memory_equal(s, "rv64", 4);
  assert_int_equal(fdt_get_str(&f, cpu, "status", &s), RL_OK);
  assert_string_equal(s, "okay");
  assert_true(fdt_node_enabled(&f, cpu));
  /* No interrupt-parent anywhere above the cpu. */
  assert_int_equal(fdt_interrupt_parent(&f, cpu, &ip, &cells),
                   RL_ERR_NOT_FOUND);
  int intc = path_node(&f, "/cpus/cpu@0/interrupt-controller");
  assert_true(fdt_is_compatible(&f, intc, "riscv,cpu-intc"));
  int parent;
  assert_int_equal(fdt_parent(&f, intc, &parent), RL_OK);
  assert_int_equal(parent, cpu);

  int test = compat_node(&f, "sifive,test0");
  assert_int_equal(test, path_node(&f, "/soc/test@100000"));
  expect_reg(&f, test, 0, 0x100000, 0x1000);
  assert_true(fdt_is_compatible(&f, test, "syscon"));
  assert_true(fdt_is_compatible(&f, test, "sifive,test1"));

  /* pci has #address-cells 3: more than fdt_get_reg reads. */
  int pci = compat_node(&f, "pci-host-ecam-generic");
  assert_int_equal(fdt_get_u32(&f, pci, "#address-cells", &v), RL_OK);
  assert_int_equal(v, 3);
  assert_int_equal(fdt_get_u32(&f, pci, "bus-range", &v), RL_ERR_BAD_FORMAT);
}

static void test_riscv64_virtio(void **state) {
  (void)state;
  struct fdt f;
  open_ok(&f, &g_rv64);
  int plic = compat_node(&f, "riscv,plic0");
  int node, from = -1;
  unsigned n = 0, seen = 0;
  while (fdt_find_compatible(&f, from, "virtio,mmio", &node) == RL_OK) {
    uint64_t a, s;
    assert_int_equal(fdt_get_reg(&f, node, 0, &a, &s), RL_OK);
    assert_int_equal(s, 0x1000);
    assert_true(a >= 0x10001000 && a < 0x10009000 && a % 0x1000 == 0);
    unsigned slot = (unsigned)((a - 0x10001000) / 0x1000);
    assert_int_equal(seen & (1u << slot), 0);
    seen |= 1u << slot;
    int ip;
    uint32_t cells, irq[4];
    size_t nc;
    assert_int_equal(fdt_interrupt_parent(&f, node, &ip, &cells), RL_OK);
    assert_int_equal(ip, plic);
    assert_int_equal(cells, 1);
    assert_int_equal(fdt_get_interrupt(&f, node, 0, irq, 4, &nc), RL_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(irq[0], slot + 1);
    assert_false(fdt_has_prop(&f, node, "dma-coherent"));
    from = node;
    n++;
  }
  assert_int_equal(n, 8);
  assert_int_equal(seen, 0xff);
}

/* ---- a small blob builder ---------------------------------------------- */

struct bld {
  uint8_t st[16384];
  uint32_t st_len;
  char str[2048];
  uint32_t str_len;
  uint64_t rsv[4][2];
  unsigned nrsv;
};

static void b_init(struct bld *b) { memset(b, 0, sizeof(*b)); }

static void b_u32(struct bld *b, uint32_t v) {
  assert_true(b->st_len + 4 <= sizeof(b->st));
  put32(b->st + b->st_len, v);
  b->st_len += 4;
}

/* Raw bytes, zero-padded to 4. */
static void b_bytes(struct bld *b, const void *p, uint32_t n) {
  assert_true(b->st_len + n + 4 <= sizeof(b->st));
  memcpy(b->st + b->st_len, p, n);
  b->st_len += n;
  while (b->st_len % 4) {
    b->st[b->st_len++] = 0;
  }
}

static uint32_t b_string(struct bld *b, const char *s) {
  uint32_t n = (uint32_t)strlen(s) + 1;
  for (uint32_t i = 0; i + n <= b->str_len; i++) {
    if (memcmp(b->str + i, s, n) == 0) {
      return i;
    }
  }
  assert_true(b->str_len + n <= sizeof(b->str));
  memcpy(b->str + b->str_len, s, n);
  b->str_len += n;
  return b->str_len - n;
}

static void b_begin(struct bld *b, const char *name) {
  b_u32(b, 1);
  b_bytes(b, name, (uint32_t)strlen(name) + 1);
}

static void b_end_node(struct bld *b) { b_u32(b, 2); }
static void b_nop(struct bld *b) { b_u32(b, 4); }
static void b_end(struct bld *b) { b_u32(b, 9); }

static void b_prop(struct bld *b, const char *name, const void *data,
                   uint32_t len) {
  b_u32(b, 3);
  b_u32(b, len);
  b_u32(b, b_string(b, name));
  b_bytes(b, data, len);
}

static void b_prop_u32(struct bld *b, const char *name, uint32_t v) {
  uint8_t be[4];
  put32(be, v);
  b_prop(b, name, be, 4);
}

static void b_prop_cells(struct bld *b, const char *name, const uint32_t *v,
                         unsigned n) {
  uint8_t be[64];
  assert_true(n <= 16);
  for (unsigned i = 0; i < n; i++) {
    put32(be + (size_t)4 * i, v[i]);
  }
  b_prop(b, name, be, 4 * n);
}

static void b_prop_str(struct bld *b, const char *name, const char *s) {
  b_prop(b, name, s, (uint32_t)strlen(s) + 1);
}

/* header | rsvmap | struct | strings, in an exactly-sized buffer. */
static uint8_t *b_blob(const struct bld *b, size_t *len) {
  uint32_t rsv_off = 40;
  uint32_t st_off = rsv_off + 16 * (b->nrsv + 1);
  uint32_t str_off = st_off + b->st_len;
  uint32_t total = str_off + b->str_len;
  uint8_t *p = calloc(1, total);
  assert_non_null(p);
  put32(p + H_MAGIC, 0xd00dfeed);
  put32(p + H_TOTAL, total);
  put32(p + H_STRUCT, st_off);
  put32(p + H_STRINGS, str_off);
  put32(p + H_RSV, rsv_off);
  put32(p + H_VERSION, 17);
  put32(p + H_LASTCOMP, 16);
  put32(p + H_STRINGS_SIZE, b->str_len);
  put32(p + H_STRUCT_SIZE, b->st_len);
  for (unsigned i = 0; i < b->nrsv; i++) {
    for (int h = 0; h < 2; h++) {
      put32(p + rsv_off + (size_t)16 * i + (size_t)8 * (size_t)h,
            (uint32_t)(b->rsv[i][h] >> 32));
      put32(p + rsv_off + (size_t)16 * i + (size_t)8 * (size_t)h + 4,
            (uint32_t)b->rsv[i][h]);
    }
  }
  memcpy(p + st_off, b->st, b->st_len);
  memcpy(p + str_off, b->str, b->str_len);
  *len = total;
  return p;
}

static rl_status open_bld(const struct bld *b) {
  size_t len;
  uint8_t *p = b_blob(b, &len);
  struct fdt f;
  rl_status st = fdt_open(&f, p, len);
  if (st == RL_OK) {
    walk_all(&f, 1);
  }
  free(p);
  return st;
}

/* ---- malformed structure blocks ---------------------------------------- */

static void test_struct_malformed(void **state) {
  (void)state;
  struct bld b;

  /* control: the smallest tree */
  b_init(&b);
  b_begin(&b, "");
  b_prop_str(&b, "compatible", "x");
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_OK);

  /* empty structure block */
  b_init(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* node name not terminated before the block ends */
  b_init(&b);
  b_begin(&b, "");
  b_u32(&b, 1);
  memcpy(b.st + b.st_len, "abcd", 4);
  b.st_len += 4;
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_string(&b, "zzzz"); /* a NUL just past the block must not count */
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* property nameoff at and far past the strings block */
  for (int k = 0; k < 3; k++) {
    b_init(&b);
    b_begin(&b, "");
    b_prop_str(&b, "model", "m");
    uint32_t bad[] = {b.str_len, 0xffffffffu, 0x80000000u};
    b_u32(&b, 3);
    b_u32(&b, 0);
    b_u32(&b, bad[k]);
    b_end_node(&b);
    b_end(&b);
    assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  }

  /* last string of the strings block not terminated */
  b_init(&b);
  b_begin(&b, "");
  b_prop_str(&b, "model", "m");
  b_prop_str(&b, "xyz", "m");
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_OK);
  b.str_len--; /* drop the NUL of "xyz" */
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* property length running past the structure block */
  uint32_t lens[] = {100, 0xffffffffu, 0xfffffffdu, 0x7ffffffdu, 13};
  for (unsigned k = 0; k < 5; k++) {
    b_init(&b);
    b_begin(&b, "");
    b_u32(&b, 3);
    b_u32(&b, lens[k]);
    b_u32(&b, b_string(&b, "p"));
    b_u32(&b, 0);
    b_end_node(&b);
    b_end(&b); /* 12 bytes after the value's first word */
    assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  }

  /* a property token cut short by the end of the block */
  b_init(&b);
  b_begin(&b, "");
  b_u32(&b, 3);
  b_u32(&b, 0);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* missing FDT_END */
  b_init(&b);
  b_begin(&b, "");
  b_end_node(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_nop(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* unbalanced: an extra END_NODE, or the root left open */
  b_init(&b);
  b_begin(&b, "");
  b_end_node(&b);
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_init(&b);
  b_begin(&b, "");
  b_begin(&b, "a");
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_init(&b);
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* no root at all */
  b_init(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* a second root, named or not */
  for (int k = 0; k < 2; k++) {
    b_init(&b);
    b_begin(&b, "");
    b_end_node(&b);
    b_begin(&b, k ? "x" : "");
    b_end_node(&b);
    b_end(&b);
    assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  }

  /* a named root; an empty child name */
  b_init(&b);
  b_begin(&b, "root");
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_init(&b);
  b_begin(&b, "");
  b_begin(&b, "");
  b_end_node(&b);
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* properties outside any node, or after a child (§5.4.2) */
  b_init(&b);
  b_prop_u32(&b, "p", 1);
  b_begin(&b, "");
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_init(&b);
  b_begin(&b, "");
  b_end_node(&b);
  b_prop_u32(&b, "p", 1);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  b_init(&b);
  b_begin(&b, "");
  b_begin(&b, "c");
  b_end_node(&b);
  b_prop_u32(&b, "p", 1);
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* an empty property name */
  b_init(&b);
  b_begin(&b, "");
  b_prop_u32(&b, "", 1);
  b_end_node(&b);
  b_end(&b);
  assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);

  /* unknown tokens */
  uint32_t toks[] = {0, 5, 8, 10, 0xffffffffu};
  for (unsigned k = 0; k < 5; k++) {
    b_init(&b);
    b_begin(&b, "");
    b_u32(&b, toks[k]);
    b_end_node(&b);
    b_end(&b);
    assert_int_equal(open_bld(&b), RL_ERR_BAD_FORMAT);
  }
}

/* Nesting: FDT_MAX_DEPTH levels open, one more does not. */
static void test_depth_limit(void **state) {
  (void)state;
  struct bld b;
  for (int levels = FDT_MAX_DEPTH; levels <= FDT_MAX_DEPTH + 1; levels++) {
    b_init(&b);
    b_begin(&b, "");
    for (int i = 1; i < levels; i++) {
      b_begin(&b, "n");
    }
    for (int i = 0; i < levels; i++) {
      b_end_node(&b);
    }
    b_end(&b);
    size_t len;
    uint8_t *p = b_blob(&b, &len);
    struct fdt f;
    rl_status st = fdt_open(&f, p, len);
    if (levels > FDT_MAX_DEPTH) {
      assert_int_equal(st, RL_ERR_BAD_FORMAT);
    } else {
      assert_int_equal(st, RL_OK);
      int node = fdt_root(&f), depth = 0, deepest = 0;
      while (fdt_walk_next(&f, node, &node, &depth) == RL_OK) {
        deepest = depth;
      }
      assert_int_equal(deepest, FDT_MAX_DEPTH - 1);
      assert_int_equal(fdt_path(&f,
                                "/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/"
                                "n/n/n/n/n/n/n/n/n/n/n/n",
                                &node),
                       RL_OK);
      int parent;
      assert_int_equal(fdt_parent(&f, node, &parent), RL_OK);
      assert_int_equal(fdt_first_child(&f, node, &parent), RL_ERR_NOT_FOUND);
      cross_check(p, len, true);
    }
    free(p);
  }
}

/* NOPs may appear between any tokens (§5.4.1). */
static void test_nops(void **state) {
  (void)state;
  struct bld b;
  b_init(&b);
  b_nop(&b);
  b_begin(&b, "");
  b_nop(&b);
  b_prop_u32(&b, "a", 1);
  b_nop(&b);
  b_prop_u32(&b, "b", 2);
  b_nop(&b);
  b_begin(&b, "c@1");
  b_nop(&b);
  b_end_node(&b);
  b_nop(&b);
  b_begin(&b, "d");
  b_end_node(&b);
  b_nop(&b);
  b_end_node(&b);
  b_nop(&b);
  b_end(&b);
  size_t len;
  uint8_t *p = b_blob(&b, &len);
  struct fdt f;
  assert_int_equal(fdt_open(&f, p, len), RL_OK);
  assert_int_equal(fdt_root(&f), 4);
  struct fdt_prop pr;
  assert_int_equal(fdt_prop_at(&f, 4, 1, &pr), RL_OK);
  assert_string_equal(pr.name, "b");
  assert_int_equal(fdt_prop_at(&f, 4, 2, &pr), RL_ERR_NOT_FOUND);
  int c, d, x;
  assert_int_equal(fdt_path(&f, "/c", &c), RL_OK);
  assert_int_equal(fdt_path(&f, "/d", &d), RL_OK);
  assert_int_equal(fdt_next_sibling(&f, c, &x), RL_OK);
  assert_int_equal(x, d);
  assert_int_equal(fdt_next_sibling(&f, d, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_next_sibling(&f, 4, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(walk_all(&f, 1), 3);
  /* libfdt assumes the root at offset 0, so no cross-check here */
  free(p);
}

/* fdt_open remembers the first FDT_PHANDLE_CACHE phandles: lookups past
 * them still search the block, and the first node in tree order with a
 * phandle wins wherever the duplicate lies. */
static void test_phandle_cache(void **state) {
  (void)state;
  enum { N = FDT_PHANDLE_CACHE + 6 };
  struct bld b;
  b_init(&b);
  b_begin(&b, "");
  char name[16];
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "n%d", i);
    b_begin(&b, name);
    /* Node i has phandle 100 + i, except: the last repeats node 2's
     * (cached, the earlier wins), and nodes N-3 and N-2 share 500 (both
     * past the cache: the earlier wins). Node 1's is malformed, so its
     * linux,phandle (200) counts. */
    uint32_t ph = 100 + (uint32_t)i;
    if (i == N - 1) {
      ph = 102;
    } else if (i == N - 3 || i == N - 2) {
      ph = 500;
    }
    if (i == 1) {
      b_prop(&b, "phandle", "\0\0", 2);
      b_prop_u32(&b, "linux,phandle", 200);
    } else {
      b_prop_u32(&b, "phandle", ph);
    }
    b_end_node(&b);
  }
  b_end_node(&b);
  b_end(&b);
  size_t len;
  uint8_t *p = b_blob(&b, &len);
  struct fdt f;
  assert_int_equal(fdt_open(&f, p, len), RL_OK);
  assert_true(f.phandle_ready && f.phandle_more);
  int x;
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "/n%d", i);
    int want = path_node(&f, name);
    uint32_t ph = i == 1 ? 200 : 100 + (uint32_t)i;
    if (i == N - 1 || i == N - 2) {
      continue; /* duplicates: checked below */
    }
    if (i == N - 3) {
      ph = 500;
    }
    assert_int_equal(fdt_find_phandle(&f, ph, &x), RL_OK);
    assert_int_equal(x, want);
  }
  assert_int_equal(fdt_find_phandle(&f, 102, &x), RL_OK);
  assert_int_equal(x, path_node(&f, "/n2"));
  assert_int_equal(fdt_find_phandle(&f, 101, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_phandle(&f, 100 + N - 1, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_phandle(&f, 99, &x), RL_ERR_NOT_FOUND);
  /* The same answers without the cache (a struct copied before it). */
  struct fdt plain = f;
  plain.phandle_ready = false;
  for (uint32_t ph = 95; ph < 130; ph++) {
    int a = -1, c = -1;
    rl_status sa = fdt_find_phandle(&f, ph, &a);
    rl_status sc = fdt_find_phandle(&plain, ph, &c);
    assert_int_equal(sa, sc);
    assert_int_equal(a, c);
  }
  cross_check(p, len, true);
  free(p);
}

/* More nodes than fdt_open indexes (nested, so parents lie on both sides
 * of the index's end): every answer that needs a node's parents is the
 * walk's, at every word offset of the block, and libfdt's. */
static void test_node_cache(void **state) {
  (void)state;
  enum { N = FDT_NODE_CACHE + 10 };
  struct bld b;
  b_init(&b);
  b_begin(&b, "");
  b_prop_u32(&b, "#address-cells", 1);
  b_prop_u32(&b, "#size-cells", 1);
  char name[16];
  int open = 0;
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "n%d", i);
    b_begin(&b, name);
    open++;
    b_prop_u32(&b, "#address-cells", 1);
    b_prop_u32(&b, "#size-cells", 1);
    /* A BEGIN_NODE word inside a value: never taken for a node. */
    b_prop_u32(&b, "fake", 1);
    if (i % 5 == 0) { /* found through the index and past its end */
      b_prop(&b, "compatible", "t\0", 2);
    }
    if (i % 3 != 2) {
      snprintf(name, sizeof(name), "c%d", i);
      b_begin(&b, name);
      b_prop(&b, "reg", "\0\0\0\1\0\0\0\2", 8);
      b_end_node(&b);
    }
    if (i % 4 != 0 || open >= 12) { /* every fourth stays open */
      b_end_node(&b);
      open--;
    }
  }
  for (; open > 0; open--) {
    b_end_node(&b);
  }
  b_end_node(&b);
  b_end(&b);
  size_t len;
  uint8_t *p = b_blob(&b, &len);
  struct fdt f;
  assert_int_equal(fdt_open(&f, p, len), RL_OK);
  assert_true(f.node_ready && f.node_more);
  assert_int_equal(f.node_count, FDT_NODE_CACHE);
  struct fdt plain = f;
  plain.node_ready = false;
  /* Every compatible node from the root, the last ones past the index. */
  int from = -1, hit = -1, found = 0;
  while (fdt_find_compatible(&f, from, "t", &hit) == RL_OK) {
    int want = -1;
    assert_int_equal(fdt_find_compatible(&plain, from, "t", &want), RL_OK);
    assert_int_equal(hit, want);
    from = hit;
    found++;
  }
  assert_int_equal(found, (N + 4) / 5);
  for (uint32_t off = 0; off < f.struct_size; off += 4) {
    int a = -1, c = -1, da = -1, dc = -1;
    assert_int_equal(fdt_parent(&f, (int)off, &a),
                     fdt_parent(&plain, (int)off, &c));
    assert_int_equal(a, c);
    a = c = -1;
    assert_int_equal(fdt_walk_next(&f, (int)off, &a, &da),
                     fdt_walk_next(&plain, (int)off, &c, &dc));
    assert_int_equal(a, c);
    assert_int_equal(da, dc);
    a = c = -1;
    assert_int_equal(fdt_walk_next(&f, (int)off, &a, NULL),
                     fdt_walk_next(&plain, (int)off, &c, NULL));
    assert_int_equal(a, c);
    a = c = -1;
    assert_int_equal(fdt_next_sibling(&f, (int)off, &a),
                     fdt_next_sibling(&plain, (int)off, &c));
    assert_int_equal(a, c);
    a = c = -1;
    assert_int_equal(fdt_find_compatible(&f, (int)off, "t", &a),
                     fdt_find_compatible(&plain, (int)off, "t", &c));
    assert_int_equal(a, c);
    uint64_t aa = 0, as = 0, ca = 0, cs = 0;
    assert_int_equal(fdt_get_reg(&f, (int)off, 0, &aa, &as),
                     fdt_get_reg(&plain, (int)off, 0, &ca, &cs));
    assert_int_equal(aa, ca);
    assert_int_equal(as, cs);
  }
  cross_check(p, len, true);
  free(p);
}

/* ---- property helpers on hand-made trees ------------------------------ */

static void test_helpers(void **state) {
  (void)state;
  struct bld b;
  b_init(&b);
  b.nrsv = 2;
  b.rsv[0][0] = 0x80000000;
  b.rsv[0][1] = 0x1000;
  b.rsv[1][0] = 0x123456789abcdef0;
  b.rsv[1][1] = 0;
  b_begin(&b, "");
  b_prop_u32(&b, "#address-cells", 1);
  b_prop_u32(&b, "#size-cells", 1);
  b_prop_str(&b, "s-ok", "okay");
  b_prop(&b, "unterminated", "abc", 3);
  b_prop(&b, "empty", "", 0);
  b_prop(&b, "compatible", "a\0bb\0ccc", 8); /* "ccc" not terminated */
  b_begin(&b, "dev@10");
  b_prop_cells(&b, "reg", (const uint32_t[]){0x10, 0x20, 0x30, 0x40}, 4);
  b_prop_str(&b, "status", "ok");
  b_prop_u32(&b, "phandle", 7);
  b_prop_u32(&b, "#interrupt-cells", 2);
  b_prop_u32(&b, "interrupt-parent", 7);
  b_prop_cells(&b, "interrupts", (const uint32_t[]){1, 2, 3, 4}, 4);
  b_end_node(&b);
  b_begin(&b, "off");
  b_prop_str(&b, "status", "disabled");
  b_prop_cells(&b, "reg", (const uint32_t[]){1, 2, 3}, 3);
  b_prop_cells(&b, "interrupts", (const uint32_t[]){1, 2, 3}, 3);
  b_prop_u32(&b, "linux,phandle", 9);
  b_end_node(&b);
  b_begin(&b, "wide");
  b_prop_u32(&b, "#address-cells", 3);
  b_prop(&b, "#size-cells", "\0\0", 2);
  b_prop(&b, "status", "okay\0", 6);
  b_begin(&b, "kid");
  b_prop_u32(&b, "reg", 0);
  b_end_node(&b);
  b_end_node(&b);
  b_begin(&b, "zero");
  b_prop_u32(&b, "#address-cells", 0);
  b_prop_u32(&b, "#size-cells", 0);
  b_begin(&b, "kid");
  b_prop(&b, "reg", "", 0);
  b_end_node(&b);
  b_end_node(&b);
  b_begin(&b, "ph-both");
  b_prop_u32(&b, "linux,phandle", 11);
  b_prop_u32(&b, "phandle", 10);
  b_end_node(&b);
  b_begin(&b, "ph-bad");
  b_prop(&b, "phandle", "\0\0", 2);
  b_prop_u32(&b, "linux,phandle", 12);
  b_prop_u32(&b, "phandle", 13); /* not the first: ignored */
  b_end_node(&b);
  b_begin(&b, "sized");
  b_prop_u32(&b, "#size-cells", 2);
  b_begin(&b, "kid");
  b_prop_cells(&b, "reg", (const uint32_t[]){1, 2, 3, 4, 5}, 5);
  b_end_node(&b);
  b_end_node(&b);
  b_end_node(&b);
  b_end(&b);
  size_t len;
  uint8_t *p = b_blob(&b, &len);
  struct fdt f;
  assert_int_equal(fdt_open(&f, p, len), RL_OK);
  cross_check(p, len, true);
  int root = fdt_root(&f);

  const char *s;
  uint32_t v;
  assert_int_equal(fdt_get_str(&f, root, "s-ok", &s), RL_OK);
  assert_string_equal(s, "okay");
  assert_int_equal(fdt_get_str(&f, root, "unterminated", &s),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(fdt_get_str(&f, root, "empty", &s), RL_ERR_BAD_FORMAT);
  assert_int_equal(fdt_get_str(&f, root, "nope", &s), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_get_u32(&f, root, "s-ok", &v), RL_ERR_BAD_FORMAT);
  assert_int_equal(fdt_get_u32(&f, root, "empty", &v), RL_ERR_BAD_FORMAT);
  assert_true(fdt_has_prop(&f, root, "empty"));
  assert_false(fdt_has_prop(&f, root, "empt"));
  assert_false(fdt_has_prop(&f, root, "emptyy"));
  assert_true(fdt_is_compatible(&f, root, "a"));
  assert_true(fdt_is_compatible(&f, root, "bb"));
  assert_false(fdt_is_compatible(&f, root, "ccc"));
  assert_false(fdt_is_compatible(&f, root, "b"));
  assert_false(fdt_is_compatible(&f, root, ""));
  assert_true(fdt_node_enabled(&f, root)); /* no status */

  int dev = path_node(&f, "/dev@10");
  assert_int_equal(dev, path_node(&f, "/dev"));
  assert_int_equal(dev, path_node(&f, "//dev@10/"));
  int x;
  assert_int_equal(fdt_path(&f, "/dev@1", &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_path(&f, "/de", &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_path(&f, "/dev@10/x", &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_path(&f, "dev", &x), RL_ERR_INVALID);
  assert_int_equal(fdt_path(&f, "", &x), RL_ERR_INVALID);
  assert_int_equal(path_node(&f, "/"), root);
  expect_reg(&f, dev, 0, 0x10, 0x20);
  expect_reg(&f, dev, 1, 0x30, 0x40);
  uint64_t a, sz;
  assert_int_equal(fdt_get_reg(&f, dev, 2, &a, &sz), RL_ERR_NOT_FOUND);
  assert_true(fdt_node_enabled(&f, dev)); /* "ok" */
  assert_int_equal(fdt_find_phandle(&f, 7, &x), RL_OK);
  assert_int_equal(x, dev);
  assert_int_equal(fdt_find_phandle(&f, 8, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_phandle(&f, 0, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_phandle(&f, 0xffffffffu, &x), RL_ERR_NOT_FOUND);
  /* "phandle" wins over "linux,phandle" unless it is malformed */
  assert_int_equal(fdt_find_phandle(&f, 10, &x), RL_OK);
  assert_int_equal(x, path_node(&f, "/ph-both"));
  assert_int_equal(fdt_find_phandle(&f, 11, &x), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_phandle(&f, 12, &x), RL_OK);
  assert_int_equal(x, path_node(&f, "/ph-bad"));
  assert_int_equal(fdt_find_phandle(&f, 13, &x), RL_ERR_NOT_FOUND);

  /* dev is its own interrupt parent, with 2 cells */
  int ip;
  uint32_t cells[4];
  size_t nc;
  assert_int_equal(fdt_interrupt_parent(&f, dev, &ip, &v), RL_OK);
  assert_int_equal(ip, dev);
  assert_int_equal(v, 2);
  assert_int_equal(fdt_get_interrupt(&f, dev, 1, cells, 4, &nc), RL_OK);
  assert_int_equal(nc, 2);
  assert_int_equal(cells[0], 3);
  assert_int_equal(cells[1], 4);
  assert_int_equal(fdt_get_interrupt(&f, dev, 2, cells, 4, &nc),
                   RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_get_interrupt(&f, dev, 0, NULL, 4, &nc), RL_ERR_INVALID);

  int off = path_node(&f, "/off");
  assert_false(fdt_node_enabled(&f, off));
  assert_int_equal(fdt_get_reg(&f, off, 0, &a, &sz), RL_ERR_BAD_FORMAT);
  /* no interrupt-parent on the node or above it */
  assert_int_equal(fdt_get_interrupt(&f, off, 0, cells, 4, &nc),
                   RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_phandle(&f, 9, &x), RL_OK);
  assert_int_equal(x, off);

  int wide = path_node(&f, "/wide");
  assert_false(fdt_node_enabled(&f, wide)); /* "okay\0\0": 6 bytes */
  uint32_t ac, sc;
  assert_int_equal(fdt_reg_cells(&f, path_node(&f, "/wide/kid"), &ac, &sc),
                   RL_ERR_NOT_SUPPORTED);
  assert_int_equal(fdt_get_reg(&f, path_node(&f, "/wide/kid"), 0, &a, &sz),
                   RL_ERR_NOT_SUPPORTED);
  assert_int_equal(fdt_get_reg(&f, path_node(&f, "/zero/kid"), 0, &a, &sz),
                   RL_ERR_BAD_FORMAT);
  /* #address-cells default 2 with #size-cells 2: 5 cells do not divide */
  assert_int_equal(fdt_reg_cells(&f, path_node(&f, "/sized/kid"), &ac, &sc),
                   RL_OK);
  assert_int_equal(ac, 2);
  assert_int_equal(sc, 2);
  assert_int_equal(fdt_get_reg(&f, path_node(&f, "/sized/kid"), 0, &a, &sz),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(fdt_reg_cells(&f, root, &ac, &sc), RL_OK);
  assert_int_equal(ac, 2);
  assert_int_equal(sc, 1);

  assert_int_equal(fdt_mem_rsv(&f, 0, &a, &sz), RL_OK);
  assert_int_equal(a, 0x80000000);
  assert_int_equal(sz, 0x1000);
  assert_int_equal(fdt_mem_rsv(&f, 1, &a, &sz), RL_OK);
  assert_int_equal(a, 0x123456789abcdef0);
  assert_int_equal(sz, 0);
  assert_int_equal(fdt_mem_rsv(&f, 2, &a, &sz), RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_mem_rsv(&f, 1000, &a, &sz), RL_ERR_NOT_FOUND);
  free(p);
}

/* ---- bad arguments and offsets ---------------------------------------- */

static void test_bad_args(void **state) {
  (void)state;
  struct fdt f;
  assert_int_equal(fdt_open(NULL, g_a64.data, g_a64.len), RL_ERR_INVALID);
  assert_int_equal(fdt_open(&f, NULL, 100), RL_ERR_INVALID);
  for (size_t lim = 0; lim < 40; lim++) {
    assert_int_equal(fdt_open(&f, g_a64.data, lim), RL_ERR_BAD_FORMAT);
  }

  /* A failed open leaves an inert fdt. */
  int x;
  struct fdt_prop p;
  uint64_t a, s;
  assert_true(fdt_root(&f) < 0);
  assert_int_equal(fdt_first_child(&f, 0, &x), RL_ERR_INVALID);
  assert_int_equal(fdt_walk_next(&f, 0, &x, NULL), RL_ERR_INVALID);
  assert_int_equal(fdt_path(&f, "/", &x), RL_ERR_INVALID);
  assert_int_equal(fdt_prop_at(&f, 0, 0, &p), RL_ERR_INVALID);
  assert_int_equal(fdt_mem_rsv(&f, 0, &a, &s), RL_ERR_INVALID);
  assert_int_equal(fdt_find_compatible(&f, -1, "x", &x), RL_ERR_INVALID);
  assert_null(fdt_node_name(&f, 0));
  assert_int_equal(fdt_root(NULL), RL_ERR_INVALID);

  open_ok(&f, &g_a64);
  /* Offsets that are not nodes: negative, unaligned, past the end, a
   * property token, and a 0x00000001 word inside a property value. */
  int mem = path_node(&f, "/memory");
  struct fdt_prop reg;
  assert_int_equal(fdt_get_prop(&f, mem, "reg", &reg), RL_OK);
  int inside = (int)((const uint8_t *)reg.data - f.blob - f.struct_off);
  /* make the value's first words read as FDT_BEGIN_NODE "" */
  uint8_t *copy = dup_len(g_a64.data, g_a64.len);
  put32(copy + f.struct_off + (uint32_t)inside, 1);
  put32(copy + f.struct_off + (uint32_t)inside + 4, 0);
  struct fdt g;
  assert_int_equal(fdt_open(&g, copy, g_a64.len), RL_OK);
  int bad[] = {-1,
               -4,
               1,
               2,
               3,
               INT_MAX,
               INT_MIN,
               (int)f.struct_size,
               (int)f.struct_size - 4,
               (int)f.struct_size + 4,
               inside};
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int n = bad[i];
    uint32_t u;
    size_t nc;
    const char *str;
    if (n == inside) {
      /* looks like a node to the one-token checks; not to walks */
      assert_int_equal(fdt_parent(&g, n, &x), RL_ERR_INVALID);
      assert_int_equal(fdt_walk_next(&g, n, &x, &x), RL_ERR_INVALID);
      assert_int_equal(fdt_reg_cells(&g, n, &u, &u), RL_ERR_INVALID);
      continue;
    }
    assert_null(fdt_node_name(&g, n));
    assert_int_equal(fdt_walk_next(&g, n, &x, NULL), RL_ERR_INVALID);
    assert_int_equal(fdt_walk_next(&g, n, &x, &x), RL_ERR_INVALID);
    assert_int_equal(fdt_first_child(&g, n, &x), RL_ERR_INVALID);
    assert_int_equal(fdt_next_sibling(&g, n, &x), RL_ERR_INVALID);
    assert_int_equal(fdt_parent(&g, n, &x), RL_ERR_INVALID);
    assert_int_equal(fdt_prop_at(&g, n, 0, &p), RL_ERR_INVALID);
    assert_int_equal(fdt_get_u32(&g, n, "reg", &u), RL_ERR_INVALID);
    assert_int_equal(fdt_get_str(&g, n, "reg", &str), RL_ERR_INVALID);
    assert_false(fdt_has_prop(&g, n, "reg"));
    assert_false(fdt_is_compatible(&g, n, "virtio,mmio"));
    assert_false(fdt_node_enabled(&g, n));
    assert_int_equal(fdt_get_reg(&g, n, 0, &a, &s), RL_ERR_INVALID);
    assert_int_equal(fdt_interrupt_parent(&g, n, &x, &u), RL_ERR_INVALID);
    assert_int_equal(fdt_get_interrupt(&g, n, 0, &u, 1, &nc), RL_ERR_INVALID);
  }
  assert_int_equal(fdt_find_compatible(&g, -2, "virtio,mmio", &x),
                   RL_ERR_INVALID);
  assert_int_equal(fdt_path(&g, NULL, &x), RL_ERR_INVALID);
  assert_int_equal(fdt_get_prop(&g, 0, NULL, &p), RL_ERR_INVALID);
  free(copy);
}

/* ---- header corruptions of a real tree -------------------------------- */

/* A copy of `b` with the 32-bit header field at `field` set to v. */
static rl_status open_patched(const struct blob *b, unsigned field, uint32_t v,
                              size_t limit) {
  uint8_t *c = dup_len(b->data, b->len);
  put32(c + field, v);
  struct fdt f;
  rl_status st = fdt_open(&f, c, limit);
  if (st == RL_OK) {
    walk_all(&f, 1);
  }
  free(c);
  return st;
}

static void header_cases(const struct blob *b) {
  const uint8_t *d = b->data;
  uint32_t total = get32(d + H_TOTAL);
  uint32_t so = get32(d + H_STRUCT), ss = get32(d + H_STRUCT_SIZE);
  uint32_t to = get32(d + H_STRINGS), ts = get32(d + H_STRINGS_SIZE);
  assert_int_equal(total, b->len);
  const struct {
    unsigned field;
    uint32_t v;
  } bad[] = {
      {H_MAGIC, 0xd00dfeee},
      {H_MAGIC, 0xedfe0dd0},
      {H_VERSION, 15},
      {H_VERSION, 1},
      {H_VERSION, 0},
      {H_LASTCOMP, 18},
      {H_LASTCOMP, 0xffffffffu},
      {H_TOTAL, total + 1},
      {H_TOTAL, 0xffffffffu},
      {H_TOTAL, 0x80000000u},
      {H_TOTAL, 39},
      {H_TOTAL, 8},
      {H_TOTAL, 0},
      {H_TOTAL, to + ts - 1},
      {H_STRUCT, 0},
      {H_STRUCT, 36},
      {H_STRUCT, so + 2},
      {H_STRUCT, total},
      {H_STRUCT, total - 4},
      {H_STRUCT, 0xffffffffu},
      {H_STRUCT, 0xfffffffcu},
      {H_STRUCT_SIZE, ss + 4 + total},
      {H_STRUCT_SIZE, 0xffffffffu},
      {H_STRUCT_SIZE, 0},
      {H_STRUCT_SIZE, 4},
      {H_STRUCT_SIZE, ss - 4},
      {H_STRINGS, 0},
      {H_STRINGS, 20},
      {H_STRINGS, 0xffffffffu},
      {H_STRINGS, total},
      {H_STRINGS, to + 1},
      {H_STRINGS, to - 4},
      {H_STRINGS, so},
      {H_STRINGS_SIZE, ts + 1},
      {H_STRINGS_SIZE, 0xffffffffu},
      {H_STRINGS_SIZE, 0x100000000ull - to},
      {H_STRINGS_SIZE, 0},
      {H_RSV, 0},
      {H_RSV, 4},
      {H_RSV, 41},
      {H_RSV, 0xffffffffu},
      {H_RSV, 0xfffffff8u},
      {H_RSV, total},
      {H_RSV, (total - 8) & ~7u},
  };
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    rl_status st = open_patched(b, bad[i].field, bad[i].v, b->len);
    if (st != RL_ERR_BAD_FORMAT) {
      fail_msg("header case %u (field %u = 0x%x) gave %d", i, bad[i].field,
               bad[i].v, st);
    }
  }
  /* totalsize beyond what the caller says is readable */
  assert_int_equal(open_patched(b, H_TOTAL, total, b->len - 1),
                   RL_ERR_BAD_FORMAT);
  /* last_comp_version above version */
  uint8_t *c = dup_len(d, b->len);
  put32(c + H_VERSION, 16);
  put32(c + H_LASTCOMP, 17);
  struct fdt f;
  assert_int_equal(fdt_open(&f, c, b->len), RL_ERR_BAD_FORMAT);
  free(c);
  /* still fine: a later version readable by 16/17, a lower last_comp */
  assert_int_equal(open_patched(b, H_VERSION, 18, b->len), RL_OK);
  assert_int_equal(open_patched(b, H_LASTCOMP, 2, b->len), RL_OK);
  assert_int_equal(open_patched(b, H_TOTAL, total, b->len), RL_OK);
}

static void test_header_corruptions(void **state) {
  (void)state;
  header_cases(&g_a64);
  header_cases(&g_rv64);
}

/* Version 16 has no size_dt_struct: the reader must not use it. */
static void test_version16(void **state) {
  (void)state;
  const struct blob *bs[] = {&g_a64, &g_rv64};
  for (unsigned i = 0; i < 2; i++) {
    uint8_t *c = dup_len(bs[i]->data, bs[i]->len);
    put32(c + H_VERSION, 16);
    put32(c + H_STRUCT_SIZE, 0xffffffffu);
    struct fdt f;
    assert_int_equal(fdt_open(&f, c, bs[i]->len), RL_OK);
    assert_int_equal(f.struct_size, get32(bs[i]->data + H_STRUCT_SIZE));
    cross_check(c, bs[i]->len, true);
    free(c);
  }
}

/* Blocks that overlap each other or the header, and reservation maps that
 * are misplaced or unterminated. */
static void test_layout(void **state) {
  (void)state;
  struct bld b;
  b_init(&b);
  b_begin(&b, "");
  b_prop_str(&b, "model", "m");
  b_prop_str(&b, "compatible", "c");
  b_end_node(&b);
  b_end(&b);
  size_t len;
  uint8_t *p = b_blob(&b, &len);
  uint32_t so = get32(p + H_STRUCT), ss = get32(p + H_STRUCT_SIZE);
  uint32_t ts = get32(p + H_STRINGS_SIZE);
  struct fdt f;
  assert_int_equal(fdt_open(&f, p, len), RL_OK);

  /* strings block widened back over the structure block: every nameoff
   * moved to match, so only the overlap is wrong */
  uint8_t *c = dup_len(p, len);
  put32(c + H_STRINGS, so);
  put32(c + H_STRINGS_SIZE, ts + ss);
  for (uint32_t o = 0; o + 12 <= ss; o += 4) {
    if (get32(c + so + o) == 3 && o + 8 < ss) {
      put32(c + so + o + 8, get32(c + so + o + 8) + ss);
    }
  }
  assert_int_equal(fdt_open(&f, c, len), RL_ERR_BAD_FORMAT);
  free(c);

  /* reservation map at the structure block: its first entry is not the
   * terminator, and the map runs into or past the other blocks */
  c = dup_len(p, len);
  put32(c + H_RSV, so);
  assert_int_equal(fdt_open(&f, c, len), RL_ERR_BAD_FORMAT);
  free(c);

  /* reservation map with entries but no terminator before totalsize */
  struct bld r;
  b_init(&r);
  r.nrsv = 1;
  r.rsv[0][0] = 1;
  r.rsv[0][1] = 1;
  b_begin(&r, "");
  b_end_node(&r);
  b_end(&r);
  uint8_t *q = b_blob(&r, &len);
  assert_int_equal(fdt_open(&f, q, len), RL_OK);
  /* move the structure block over the terminator: the map then reads
   * its words 1,0,2,9 as an entry and runs off the end */
  put32(q + H_STRUCT, get32(q + H_STRUCT) - 16);
  memmove(q + get32(q + H_STRUCT), q + get32(q + H_STRUCT) + 16, 16);
  put32(q + H_STRUCT_SIZE, 16);
  put32(q + H_STRINGS, get32(q + H_STRUCT) + 16);
  put32(q + H_STRINGS_SIZE, 0);
  put32(q + H_TOTAL, get32(q + H_STRUCT) + 16);
  assert_int_equal(fdt_open(&f, q, get32(q + H_TOTAL)), RL_ERR_BAD_FORMAT);
  free(q);

  free(p);

  /* a valid reordering: strings first, then structure, map last */
  b_init(&b);
  b_begin(&b, "");
  b_prop_str(&b, "model", "m");
  b_end_node(&b);
  b_end(&b);
  uint32_t str_off = 40;
  uint32_t st_off = (str_off + b.str_len + 3) & ~3u;
  uint32_t rsv_off = (st_off + b.st_len + 7) & ~7u;
  uint32_t tot = rsv_off + 16;
  p = calloc(1, tot);
  assert_non_null(p);
  put32(p + H_MAGIC, 0xd00dfeed);
  put32(p + H_TOTAL, tot);
  put32(p + H_STRUCT, st_off);
  put32(p + H_STRINGS, str_off);
  put32(p + H_RSV, rsv_off);
  put32(p + H_VERSION, 17);
  put32(p + H_LASTCOMP, 16);
  put32(p + H_STRINGS_SIZE, b.str_len);
  put32(p + H_STRUCT_SIZE, b.st_len);
  memcpy(p + str_off, b.str, b.str_len);
  memcpy(p + st_off, b.st, b.st_len);
  assert_int_equal(fdt_open(&f, p, tot), RL_OK);
  cross_check(p, tot, true);
  /* ... and the same with the terminator dropped */
  assert_int_equal(fdt_open(&f, p, tot - 16), RL_ERR_BAD_FORMAT);
  put32(p + H_TOTAL, tot - 16);
  uint8_t *cut = dup_len(p, tot - 16);
  assert_int_equal(fdt_open(&f, cut, tot - 16), RL_ERR_BAD_FORMAT);
  free(cut);
  free(p);
}

/* ---- interrupt-parent loops ------------------------------------------- */

static void test_irq_loop(void **state) {
  (void)state;
  struct fdt f;
  open_ok(&f, &g_loop);
  int ip, node;
  uint32_t cells, irq[4];
  size_t nc;
  const char *loops[] = {"/dev-loop", "/dev-self", "/a", "/b", "/c"};
  for (unsigned i = 0; i < 5; i++) {
    node = path_node(&f, loops[i]);
    assert_int_equal(fdt_interrupt_parent(&f, node, &ip, &cells),
                     RL_ERR_BAD_FORMAT);
    if (i < 2) {
      assert_int_equal(fdt_get_interrupt(&f, node, 0, irq, 4, &nc),
                       RL_ERR_BAD_FORMAT);
    }
  }
  node = path_node(&f, "/dev-dangling@3000");
  assert_int_equal(fdt_interrupt_parent(&f, node, &ip, &cells),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(fdt_get_interrupt(&f, node, 0, irq, 4, &nc),
                   RL_ERR_BAD_FORMAT);
  node = path_node(&f, "/dev-good");
  assert_int_equal(fdt_interrupt_parent(&f, node, &ip, &cells), RL_OK);
  assert_int_equal(ip, path_node(&f, "/intc"));
  assert_int_equal(cells, 2);
  assert_int_equal(fdt_get_interrupt(&f, node, 0, irq, 4, &nc), RL_OK);
  assert_int_equal(nc, 2);
  assert_int_equal(irq[0], 8);
  assert_int_equal(irq[1], 4);
  /* the root has no interrupt-parent */
  assert_int_equal(fdt_interrupt_parent(&f, 0, &ip, &cells), RL_ERR_NOT_FOUND);
  walk_all(&f, 1);
}

/* ---- sweeps ------------------------------------------------------------ */

/* What the current sweep is doing, for failure messages. */
static char g_ctx[96];

struct stats {
  unsigned tried;
  unsigned both_ok;
  unsigned both_bad;
  unsigned only_us;     /* we accept, fdt_check_full rejects */
  unsigned only_libfdt; /* we reject a blob libfdt accepts, by our rules */
};

/* The layout and token-order rules fdt_open enforces beyond
 * fdt_check_full (devicetree spec 0.4 §5): version >= 16, one root,
 * aligned and disjoint blocks, a map ending at (0, 0), property values
 * inside the block (libfdt's offset arithmetic wraps on a length of
 * 0xffffffff), properties inside a node and before its children,
 * non-empty names, nesting <= FDT_MAX_DEPTH. Written with libfdt's
 * fdt_next_tag, so it is an independent reading of the same rules.
 * Returns NULL when the blob is valid, else the rule it breaks. */
static const char *strict_invalid(const uint8_t *b, size_t len) {
  if (fdt_check_full(b, len) != 0) {
    return "fdt_check_full";
  }
  if (fdt_version(b) < 16) {
    return "version";
  }
  uint32_t so = fdt_off_dt_struct(b), to = fdt_off_dt_strings(b);
  uint32_t ro = fdt_off_mem_rsvmap(b), ts = fdt_size_dt_strings(b);
  if (so % 4 || ro % 8) {
    return "alignment";
  }
  uint64_t rl = 0;
  for (;;) {
    if (ro + rl + 16 > fdt_totalsize(b)) {
      return "map not terminated";
    }
    const uint8_t *e = b + ro + rl;
    rl += 16;
    bool zero = true;
    for (int k = 0; k < 16; k++) {
      zero = zero && e[k] == 0;
    }
    if (zero) {
      break;
    }
  }
  uint64_t has_child = 0;
  int depth = 0, off = 0, next = 0, roots = 0;
  uint32_t tag;
  do {
    off = next;
    tag = fdt_next_tag(b, off, &next);
    if (next < 0) {
      return "fdt_next_tag";
    }
    if (tag == FDT_BEGIN_NODE) {
      const char *name = fdt_get_name(b, off, NULL);
      if (name == NULL || (depth > 0 && name[0] == '\0')) {
        return "empty node name";
      }
      if (depth >= FDT_MAX_DEPTH) {
        return "depth";
      }
      if (depth == 0 && roots++ > 0) {
        return "second root";
      }
      has_child |= 1ull << depth;
      depth++;
      has_child &= ~(1ull << depth);
    } else if (tag == FDT_END_NODE) {
      depth--;
    } else if (tag == FDT_PROP) {
      const char *pname;
      uint32_t plen = get32(b + so + off + 4);
      if ((uint64_t)off + 12 + plen > (uint64_t)next) {
        return "property length wraps";
      }
      if (depth == 0) {
        return "property outside a node";
      }
      if (has_child >> depth & 1) {
        return "property after a child";
      }
      if (fdt_getprop_by_offset(b, off, &pname, NULL) == NULL ||
          pname[0] == '\0') {
        return "empty property name";
      }
    }
  } while (tag != FDT_END);
  if (roots != 1) {
    return "no root"; /* libfdt takes a lone FDT_END as an empty tree */
  }
  uint64_t ss = fdt_version(b) >= 17 ? fdt_size_dt_struct(b) : (uint64_t)next;
  uint64_t r[3][2] = {{ro, rl}, {so, ss}, {to, ts}};
  for (int i = 0; i < 3; i++) {
    for (int j = i + 1; j < 3; j++) {
      if (r[i][1] && r[j][1] && r[i][0] < r[j][0] + r[j][1] &&
          r[j][0] < r[i][0] + r[i][1]) {
        return "blocks overlap";
      }
    }
  }
  return NULL;
}

/* Opens one candidate blob (an exactly-sized heap buffer): if we accept,
 * walking it must stay in bounds and end; if libfdt accepts too, both
 * must see the same tree. Rejecting a blob that libfdt fully accepts is a
 * failure only when the blob also meets strict_valid(). */
static rl_status check_one(const uint8_t *buf, size_t len, struct stats *s) {
  struct fdt f;
  rl_status st = fdt_open(&f, buf, len);
  bool lib_ok = len >= 40 && fdt_check_full(buf, len) == 0;
  s->tried++;
  if (st == RL_OK) {
    walk_all(&f, 16);
    if (lib_ok) {
      s->both_ok++;
      if (getenv("FDT_TEST_VERBOSE")) {
        print_message("cross-check %s\n", g_ctx);
      }
      cross_check(buf, len, false);
    } else {
      s->only_us++;
    }
  } else {
    assert_int_equal(st, RL_ERR_BAD_FORMAT);
    if (lib_ok) {
      const char *why = strict_invalid(buf, len);
      if (why == NULL) {
        fail_msg("rejected a valid blob (len %zu): %s", len, g_ctx);
      }
      if (getenv("FDT_TEST_VERBOSE")) {
        print_message("only libfdt accepts %s: %s\n", g_ctx, why);
      }
      s->only_libfdt++;
    } else {
      s->both_bad++;
    }
  }
  return st;
}

static void report(const char *what, const struct stats *s) {
  print_message("  %-28s %6u blobs: %5u ok, %5u bad, %u only we accept, "
                "%u only libfdt accepts (breaking our stricter rules)\n",
                what, s->tried, s->both_ok, s->both_bad, s->only_us,
                s->only_libfdt);
}

/* Every prefix, three ways: as is (totalsize now too big), with totalsize
 * set to the cut, and with the block sizes clipped to the cut as well. */
static void truncate_sweep(const struct blob *b, const char *name) {
  struct stats s = {0};
  uint32_t so = get32(b->data + H_STRUCT), to = get32(b->data + H_STRINGS);
  for (size_t len = 0; len <= b->len; len++) {
    for (int mode = 0; mode < 3; mode++) {
      if (mode > 0 && len < 40) {
        continue;
      }
      uint8_t *c = dup_len(b->data, len);
      if (mode >= 1) {
        put32(c + H_TOTAL, (uint32_t)len);
      }
      if (mode == 2) {
        if (len >= to) {
          put32(c + H_STRINGS_SIZE, (uint32_t)(len - to));
        } else {
          put32(c + H_STRINGS, (uint32_t)len);
          put32(c + H_STRINGS_SIZE, 0);
          put32(c + H_STRUCT_SIZE, len >= so ? (uint32_t)(len - so) : 0);
        }
      }
      (void)snprintf(g_ctx, sizeof(g_ctx), "%s: cut at %zu, mode %d", name, len,
                     mode);
      rl_status st = check_one(c, len, &s);
      if (len < b->len && st == RL_OK) {
        fail_msg("accepted a cut at %zu (mode %d)", len, mode);
      }
      if (len == b->len) {
        assert_int_equal(st, RL_OK);
      }
      free(c);
    }
  }
  report(name, &s);
}

static void test_truncation_sweep(void **state) {
  (void)state;
  truncate_sweep(&g_a64, "truncated aarch64");
  truncate_sweep(&g_rv64, "truncated riscv64");
  truncate_sweep(&g_loop, "truncated irq_loop");
}

/* Each header byte and each structure-block word set to a list of values. */
static void field_sweep(const struct blob *b, const char *name) {
  struct stats s = {0};
  const uint8_t vals8[] = {0x00, 0x01, 0x04, 0x7f, 0x80, 0xfe, 0xff};
  for (unsigned pos = 0; pos < 40; pos++) {
    for (unsigned k = 0; k < sizeof(vals8) + 2; k++) {
      uint8_t *c = dup_len(b->data, b->len);
      c[pos] = k < sizeof(vals8)
                   ? vals8[k]
                   : (uint8_t)(c[pos] + (k == sizeof(vals8) ? 1 : -1));
      (void)snprintf(g_ctx, sizeof(g_ctx), "%s: header byte %u = 0x%02x", name,
                     pos, c[pos]);
      check_one(c, b->len, &s);
      free(c);
    }
  }
  /* Words that hold a token, a property's len or nameoff, or a node name
   * get every value; property values only 1 (it reads as BEGIN_NODE). */
  uint32_t so = get32(b->data + H_STRUCT), ss = get32(b->data + H_STRUCT_SIZE);
  bool *structural = calloc(ss / 4 + 1, sizeof(bool));
  assert_non_null(structural);
  for (int off = 0, next = 0, tag = 0; tag != FDT_END; off = next) {
    tag = (int)fdt_next_tag(b->data, off, &next);
    assert_true(next > off);
    structural[off / 4] = true;
    if (tag == FDT_PROP) {
      structural[off / 4 + 1] = structural[off / 4 + 2] = true;
    }
    if (tag == FDT_BEGIN_NODE) {
      for (int w = off + 4; w < next; w += 4) {
        structural[w / 4] = true;
      }
    }
  }
  const uint32_t words[] = {1, 0, 2, 3, 4, 9, 0x10, 0xffffffffu};
  for (uint32_t o = 0; o < ss; o += 4) {
    unsigned nwords = structural[o / 4] ? sizeof(words) / sizeof(words[0]) : 1;
    for (unsigned k = 0; k < nwords; k++) {
      if (get32(b->data + so + o) == words[k]) {
        continue;
      }
      uint8_t *c = dup_len(b->data, b->len);
      put32(c + so + o, words[k]);
      (void)snprintf(g_ctx, sizeof(g_ctx), "%s: struct word 0x%x = 0x%x", name,
                     o, words[k]);
      check_one(c, b->len, &s);
      free(c);
    }
  }
  free(structural);
  report(name, &s);
}

static void test_field_sweep(void **state) {
  (void)state;
  field_sweep(&g_a64, "header/token aarch64");
  field_sweep(&g_rv64, "header/token riscv64");
  field_sweep(&g_loop, "header/token irq_loop");
}

static uint64_t rng_next(uint64_t *x) {
  /* xorshift64 */
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* Single-byte corruptions at random places, fixed seed. */
static void random_sweep(const struct blob *b, const char *name,
                         unsigned count) {
  struct stats s = {0};
  uint64_t seed = 0x52696e676c696768ull; /* "Ringligh" */
  for (unsigned i = 0; i < count; i++) {
    uint64_t r = rng_next(&seed);
    size_t pos = (size_t)(r % b->len);
    uint8_t v = (uint8_t)(r >> 40);
    if (v == b->data[pos]) {
      v ^= 0x01;
    }
    uint8_t *c = dup_len(b->data, b->len);
    c[pos] = v;
    (void)snprintf(g_ctx, sizeof(g_ctx), "%s: byte 0x%zx = 0x%02x", name, pos,
                   v);
    check_one(c, b->len, &s);
    free(c);
  }
  report(name, &s);
}

static void test_random_sweep(void **state) {
  (void)state;
  random_sweep(&g_a64, "random byte aarch64", 4000);
  random_sweep(&g_rv64, "random byte riscv64", 4000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_aarch64_devices),
      cmocka_unit_test(test_aarch64_virtio),
      cmocka_unit_test(test_riscv64_devices),
      cmocka_unit_test(test_riscv64_virtio),
      cmocka_unit_test(test_libfdt_aarch64),
      cmocka_unit_test(test_libfdt_riscv64),
      cmocka_unit_test(test_libfdt_irq_loop),
      cmocka_unit_test(test_struct_malformed),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_nops),
      cmocka_unit_test(test_helpers),
      cmocka_unit_test(test_phandle_cache),
      cmocka_unit_test(test_node_cache),
      cmocka_unit_test(test_header_corruptions),
      cmocka_unit_test(test_version16),
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_irq_loop),
      cmocka_unit_test(test_truncation_sweep),
      cmocka_unit_test(test_field_sweep),
      cmocka_unit_test(test_random_sweep),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
