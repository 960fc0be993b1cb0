/* Flattened device tree reader (devicetree spec 0.4 §5). Every read goes
 * through read_tok(), which checks the token, the node name and the
 * property against the block bounds; fdt_open() runs it over the whole
 * structure block once, and the accessors run it again on every token they
 * touch. Offsets only ever grow during a walk, so every loop ends. */
#include "fdt.h"

/* Header fields, byte offsets (§5.2). */
#define FDT_MAGIC 0xd00dfeedu
#define HDR_MAGIC 0
#define HDR_TOTALSIZE 4
#define HDR_OFF_STRUCT 8
#define HDR_OFF_STRINGS 12
#define HDR_OFF_RSVMAP 16
#define HDR_VERSION 20
#define HDR_LAST_COMP 24
#define HDR_SIZE_STRINGS 32
#define HDR_SIZE_STRUCT 36 /* version 17 and later */
#define HDR_LEN_V16 36u
#define HDR_LEN_V17 40u

/* Structure block tokens (§5.4.1). */
#define TOK_BEGIN_NODE 1u
#define TOK_END_NODE 2u
#define TOK_PROP 3u
#define TOK_NOP 4u
#define TOK_END 9u

#define RSV_ENTRY_LEN 16u     /* two 64-bit cells (§5.3.2) */
#define OFF_MAX 0x7fffffffu   /* node offsets are ints */
#define IRQ_MAX_HOPS 64       /* interrupt-parent links followed */
#define MAX_CELLS 2           /* #address-cells, #size-cells we read */
#define DEFAULT_ADDR_CELLS 2u /* §2.3.5 */
#define DEFAULT_SIZE_CELLS 1u

/* One decoded token. */
struct tok {
  uint32_t tag;
  uint32_t next;        /* offset of the following token */
  const char *name;     /* TOK_BEGIN_NODE: node name */
  struct fdt_prop prop; /* TOK_PROP */
};

/* Index of the first NUL in p[0..max), or max if there is none. */
static uint32_t str_len(const char *p, uint32_t max) {
  uint32_t n = 0;
  while (n < max && p[n] != '\0') {
    n++;
  }
  return n;
}

/* a (NUL-terminated) equals b. */
static bool str_eq(const char *a, const char *b) {
  while (*a != '\0' && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

/* The n bytes at p equal the string s. */
static bool mem_eq_str(const char *p, uint32_t n, const char *s) {
  for (uint32_t i = 0; i < n; i++) {
    if (s[i] == '\0' || s[i] != p[i]) {
      return false;
    }
  }
  return s[n] == '\0';
}

static uint32_t align4(uint32_t x) { return (x + 3u) & ~3u; }

static uint64_t be64(const uint8_t *p) {
  return ((uint64_t)fdt_be32(p) << 32) | fdt_be32(p + 4);
}

static bool is_open(const struct fdt *fdt) {
  return fdt != NULL && fdt->blob != NULL && fdt->struct_size != 0;
}

/* Decodes the token at structure offset `off`, checking that it, its name
 * and its value lie inside the blocks (§5.4). Without `prop_names` a
 * property's name is not checked (nor set): only for walks from the
 * start of the block, whose every token fdt_open checked whole. */
static rl_status read_tok_names(const struct fdt *fdt, uint32_t off,
                                struct tok *t, bool prop_names) {
  uint32_t end = fdt->struct_size;
  const uint8_t *s = fdt->blob + fdt->struct_off;

  if ((off & 3u) != 0 || off > end || end - off < 4) {
    return RL_ERR_BAD_FORMAT;
  }
  t->tag = fdt_be32(s + off);
  t->name = NULL;
  switch (t->tag) {
  case TOK_BEGIN_NODE: {
    uint32_t room = end - off - 4;
    const char *name = (const char *)(s + off + 4);
    uint32_t n = str_len(name, room);
    if (n == room) {
      return RL_ERR_BAD_FORMAT; /* name not terminated in the block */
    }
    t->name = name;
    t->next = align4(off + 4 + n + 1); /* end <= OFF_MAX: no overflow */
    return RL_OK;
  }
  case TOK_PROP: {
    if (end - off < 12) {
      return RL_ERR_BAD_FORMAT;
    }
    uint32_t len = fdt_be32(s + off + 4);
    uint32_t nameoff = fdt_be32(s + off + 8);
    if (len > end - off - 12 || nameoff >= fdt->strings_size) {
      return RL_ERR_BAD_FORMAT;
    }
    t->prop.data = s + off + 12;
    t->prop.len = len;
    t->next = align4(off + 12 + len);
    if (!prop_names) {
      t->prop.name = NULL;
      return RL_OK;
    }
    const char *name = (const char *)(fdt->blob + fdt->strings_off + nameoff);
    uint32_t room = fdt->strings_size - nameoff;
    if (!fdt->strings_closed && str_len(name, room) == room) {
      return RL_ERR_BAD_FORMAT; /* name not terminated in the block */
    }
    t->prop.name = name;
    return RL_OK;
  }
  case TOK_END_NODE:
  case TOK_NOP:
  case TOK_END:
    t->next = off + 4;
    return RL_OK;
  default:
    return RL_ERR_BAD_FORMAT;
  }
}

static rl_status read_tok(const struct fdt *fdt, uint32_t off, struct tok *t) {
  return read_tok_names(fdt, off, t, true);
}

/* The FDT_BEGIN_NODE token at `node`; RL_ERR_INVALID when there is none. */
static rl_status node_tok(const struct fdt *fdt, int node, struct tok *t) {
  if (!is_open(fdt) || node < 0) {
    return RL_ERR_INVALID;
  }
  if (read_tok(fdt, (uint32_t)node, t) != RL_OK || t->tag != TOK_BEGIN_NODE) {
    return RL_ERR_INVALID;
  }
  return RL_OK;
}

/* From fdt_open's index: RL_ERR_NOT_FOUND when `node` is past it (the
 * walk decides). */
static rl_status locate_cached(const struct fdt *fdt, int node,
                               int stack[FDT_MAX_DEPTH], int *depth) {
  uint32_t lo = 0, hi = fdt->node_count; /* search [lo, hi) */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (fdt->node_cache[mid].node < node) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == fdt->node_count || fdt->node_cache[lo].node != node) {
    /* Inside the indexed prefix but not a node's start: a BEGIN_NODE
     * word inside a value. */
    return fdt->node_more && lo == fdt->node_count ? RL_ERR_NOT_FOUND
                                                   : RL_ERR_INVALID;
  }
  int n = 0;
  int path[FDT_MAX_DEPTH];
  for (int i = (int)lo; i >= 0 && n < FDT_MAX_DEPTH;
       i = fdt->node_cache[i].parent) {
    path[n++] = fdt->node_cache[i].node;
  }
  for (int k = 0; k < n; k++) {
    stack[k] = path[n - 1 - k];
  }
  *depth = n - 1;
  return RL_OK;
}

/* `node`'s entry in fdt_open's index, or -1 when it has none (not a
 * node, or past the index). */
static int cache_index(const struct fdt *fdt, int node) {
  if (!fdt->node_ready) {
    return -1;
  }
  uint32_t lo = 0, hi = fdt->node_count; /* search [lo, hi) */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (fdt->node_cache[mid].node < node) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < fdt->node_count && fdt->node_cache[lo].node == node ? (int)lo
                                                                  : -1;
}

/* Walks from the start to `node` (or answers from fdt_open's index):
 * stack[0] is the root, stack[*depth] is `node`. */
static rl_status locate(const struct fdt *fdt, int node,
                        int stack[FDT_MAX_DEPTH], int *depth) {
  struct tok t;
  uint32_t off = 0;
  int level = 0;
  rl_status st = node_tok(fdt, node, &t);
  if (st != RL_OK) {
    return st;
  }
  if (fdt->node_ready) {
    st = locate_cached(fdt, node, stack, depth);
    if (st != RL_ERR_NOT_FOUND) {
      return st;
    }
  }
  while (off <= (uint32_t)node) {
    /* From the start: every token on the way was checked by fdt_open. */
    st = read_tok_names(fdt, off, &t, false);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_BEGIN_NODE) {
      if (level >= FDT_MAX_DEPTH) {
        return RL_ERR_BAD_FORMAT;
      }
      stack[level] = (int)off;
      if (off == (uint32_t)node) {
        *depth = level;
        return RL_OK;
      }
      level++;
    } else if (t.tag == TOK_END_NODE) {
      if (level == 0) {
        return RL_ERR_BAD_FORMAT;
      }
      level--;
    } else if (t.tag == TOK_END) {
      break;
    }
    off = t.next;
  }
  return RL_ERR_INVALID; /* a BEGIN_NODE word inside a value, not a node */
}

/* The offset just past `node`'s FDT_END_NODE. */
static rl_status skip_node(const struct fdt *fdt, int node, uint32_t *after) {
  struct tok t;
  rl_status st = node_tok(fdt, node, &t);
  uint32_t level = 1;
  if (st != RL_OK) {
    return st;
  }
  uint32_t off = t.next;
  while (level > 0) {
    st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_BEGIN_NODE) {
      if (++level > FDT_MAX_DEPTH) {
        return RL_ERR_BAD_FORMAT;
      }
    } else if (t.tag == TOK_END_NODE) {
      level--;
    } else if (t.tag == TOK_END) {
      return RL_ERR_BAD_FORMAT;
    }
    off = t.next;
  }
  *after = off;
  return RL_OK;
}

/* One pass over the structure block (§5.4.2): a single root with an empty
 * name, balanced nodes no deeper than FDT_MAX_DEPTH, properties only
 * inside a node and before its children, non-empty names, then FDT_END. */
static rl_status scan_struct(const struct fdt *fdt, uint32_t *end) {
  struct tok t;
  uint32_t off = 0;
  uint32_t level = 0;
  uint64_t has_child = 0; /* bit n: the open node at level n has a child */
  bool seen_root = false;

  for (;;) {
    rl_status st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st; /* includes running off the block without FDT_END */
    }
    switch (t.tag) {
    case TOK_BEGIN_NODE:
      if (level == 0) {
        if (seen_root || t.name[0] != '\0') {
          return RL_ERR_BAD_FORMAT; /* second root, or a named root */
        }
        seen_root = true;
      } else if (t.name[0] == '\0') {
        return RL_ERR_BAD_FORMAT;
      }
      if (level >= FDT_MAX_DEPTH) {
        return RL_ERR_BAD_FORMAT;
      }
      has_child |= (uint64_t)1 << level;
      level++;
      has_child &= ~((uint64_t)1 << level);
      break;
    case TOK_END_NODE:
      if (level == 0) {
        return RL_ERR_BAD_FORMAT;
      }
      level--;
      break;
    case TOK_PROP:
      if (level == 0 || (has_child & ((uint64_t)1 << level)) != 0 ||
          t.prop.name[0] == '\0') {
        return RL_ERR_BAD_FORMAT;
      }
      break;
    case TOK_NOP:
      break;
    case TOK_END:
      if (!seen_root || level != 0) {
        return RL_ERR_BAD_FORMAT;
      }
      *end = t.next;
      return RL_OK;
    }
    off = t.next; /* strictly increasing: the loop ends */
  }
}

/* [a, a+alen) and [b, b+blen) share a byte. */
static bool overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen) {
  return alen != 0 && blen != 0 && (uint64_t)a < (uint64_t)b + blen &&
         (uint64_t)b < (uint64_t)a + alen;
}

static rl_status check_blob(struct fdt *fdt, const uint8_t *b, size_t limit) {
  if (limit < HDR_LEN_V17 || fdt_be32(b + HDR_MAGIC) != FDT_MAGIC) {
    return RL_ERR_BAD_FORMAT;
  }
  uint32_t total = fdt_be32(b + HDR_TOTALSIZE);
  uint32_t version = fdt_be32(b + HDR_VERSION);
  uint32_t last_comp = fdt_be32(b + HDR_LAST_COMP);
  /* §5.2: version 17, readable by version 16 readers. */
  if (version < 16 || last_comp > 17 || last_comp > version) {
    return RL_ERR_BAD_FORMAT;
  }
  uint32_t hdr = version >= 17 ? HDR_LEN_V17 : HDR_LEN_V16;
  if (total > limit || total > OFF_MAX || total < hdr) {
    return RL_ERR_BAD_FORMAT;
  }

  uint32_t rsv_off = fdt_be32(b + HDR_OFF_RSVMAP);
  uint32_t st_off = fdt_be32(b + HDR_OFF_STRUCT);
  uint32_t str_off = fdt_be32(b + HDR_OFF_STRINGS);
  uint32_t str_size = fdt_be32(b + HDR_SIZE_STRINGS);
  /* §5.1: the reservation map is 8-aligned, the structure block 4-aligned;
   * no block overlaps the header or runs past totalsize. */
  if (rsv_off < hdr || rsv_off > total || (rsv_off & 7u) != 0) {
    return RL_ERR_BAD_FORMAT;
  }
  if (st_off < hdr || st_off > total || (st_off & 3u) != 0) {
    return RL_ERR_BAD_FORMAT;
  }
  if (str_off < hdr || str_off > total || str_size > total - str_off) {
    return RL_ERR_BAD_FORMAT;
  }
  uint32_t st_size = total - st_off; /* version 16: bounded by the scan */
  if (version >= 17) {
    st_size = fdt_be32(b + HDR_SIZE_STRUCT);
    if (st_size > total - st_off) {
      return RL_ERR_BAD_FORMAT;
    }
  }

  /* §5.3: entries up to a (0, 0) terminator. */
  uint32_t rsv_end = rsv_off;
  for (;;) {
    if (total - rsv_end < RSV_ENTRY_LEN) {
      return RL_ERR_BAD_FORMAT;
    }
    bool last = be64(b + rsv_end) == 0 && be64(b + rsv_end + 8) == 0;
    rsv_end += RSV_ENTRY_LEN;
    if (last) {
      break;
    }
  }

  fdt->blob = b;
  fdt->size = total;
  fdt->struct_off = st_off;
  fdt->struct_size = st_size;
  fdt->strings_off = str_off;
  fdt->strings_size = str_size;
  fdt->rsvmap_off = rsv_off;
  fdt->strings_closed = str_size > 0 && b[str_off + str_size - 1] == '\0';

  uint32_t st_end;
  rl_status st = scan_struct(fdt, &st_end);
  if (st != RL_OK) {
    return st;
  }
  if (version < 17) {
    fdt->struct_size = st_size = st_end;
  }

  uint32_t rsv_len = rsv_end - rsv_off;
  if (overlap(rsv_off, rsv_len, st_off, st_size) ||
      overlap(rsv_off, rsv_len, str_off, str_size) ||
      overlap(st_off, st_size, str_off, str_size)) {
    return RL_ERR_BAD_FORMAT;
  }
  return RL_OK;
}

static void clear(struct fdt *fdt) {
  fdt->phandle_ready = false;
  fdt->phandle_more = false;
  fdt->phandle_count = 0;
  fdt->node_ready = false;
  fdt->node_more = false;
  fdt->node_count = 0;
  fdt->blob = NULL;
  fdt->size = 0;
  fdt->struct_off = 0;
  fdt->struct_size = 0;
  fdt->strings_off = 0;
  fdt->strings_size = 0;
  fdt->rsvmap_off = 0;
  fdt->strings_closed = false;
}

/* A node's phandle as fdt_find_phandle decides it (§2.3.3): its first
 * "phandle" property when that is one cell, else its first
 * "linux,phandle" when that is. `ph`/`lx`: 0 absent, 1 one cell, 3
 * malformed. */
struct ph_state {
  int ph, lx;
  uint32_t ph_value, lx_value;
};

static void ph_prop(struct ph_state *n, const struct fdt_prop *p) {
  int v = p->len == 4 ? 1 : 3;
  uint32_t value = p->len == 4 ? fdt_be32(p->data) : 0;
  if (n->ph == 0 && str_eq(p->name, "phandle")) {
    n->ph = v;
    n->ph_value = value;
  } else if (n->lx == 0 && str_eq(p->name, "linux,phandle")) {
    n->lx = v;
    n->lx_value = value;
  }
}

/* The first nodes in tree order and their parents (struct fdt). */
static void index_node(struct fdt *fdt, int node, int *parents, int level) {
  if (fdt->node_count == FDT_NODE_CACHE) {
    fdt->node_more = true;
    return;
  }
  fdt->node_cache[fdt->node_count].node = node;
  fdt->node_cache[fdt->node_count].parent = level > 0 ? parents[level - 1] : -1;
  parents[level] = (int)fdt->node_count;
  fdt->node_count++;
}

/* One pass at open, in tree order (fdt_find_phandle's answer is the
 * first node with the phandle, so a prefix of the tree's phandles is
 * enough for those in it; locate's prefix of the nodes likewise). The
 * block was checked whole by check_blob, its nesting included. */
static void index_phandles(struct fdt *fdt) {
  struct tok t;
  int root = fdt_root(fdt);
  if (root < 0) {
    return; /* not ready: fdt_find_phandle searches */
  }
  uint32_t off = (uint32_t)root;
  int cur = -1;
  struct ph_state n = {0, 0, 0, 0};
  int parents[FDT_MAX_DEPTH]; /* cache index of each open node */
  int level = 0;              /* of a node beginning now */
  for (;;) {
    if (read_tok(fdt, off, &t) != RL_OK || level > FDT_MAX_DEPTH) {
      fdt->phandle_count = 0;
      fdt->node_count = 0;
      fdt->node_more = false;
      return; /* not ready */
    }
    if (t.tag == TOK_BEGIN_NODE) {
      if (level == FDT_MAX_DEPTH) {
        fdt->phandle_count = 0;
        fdt->node_count = 0;
        fdt->node_more = false;
        return; /* check_blob forbids it; not ready */
      }
      if (!fdt->node_more) {
        index_node(fdt, (int)off, parents, level);
      }
      level++;
    } else if (t.tag == TOK_END_NODE && level > 0) {
      level--;
    }
    if (t.tag == TOK_PROP && cur >= 0) {
      ph_prop(&n, &t.prop);
    } else if (t.tag != TOK_NOP) {
      bool has = n.ph == 1 || n.lx == 1;
      uint32_t value = n.ph == 1 ? n.ph_value : n.lx_value;
      if (cur >= 0 && has && value != 0 && value != 0xffffffffu) {
        if (fdt->phandle_count < FDT_PHANDLE_CACHE) {
          fdt->phandle_cache[fdt->phandle_count].phandle = value;
          fdt->phandle_cache[fdt->phandle_count].node = cur;
          fdt->phandle_count++;
        } else {
          fdt->phandle_more = true;
        }
      }
      if (t.tag == TOK_END) {
        break;
      }
      cur = t.tag == TOK_BEGIN_NODE ? (int)off : -1;
      n = (struct ph_state){0, 0, 0, 0};
    }
    off = t.next;
  }
  fdt->phandle_ready = true;
  fdt->node_ready = true;
}

rl_status fdt_open(struct fdt *fdt, const void *blob, size_t limit) {
  if (fdt == NULL) {
    return RL_ERR_INVALID;
  }
  clear(fdt);
  if (blob == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = check_blob(fdt, blob, limit);
  if (st != RL_OK) {
    clear(fdt); /* a failed open leaves nothing to read */
    return st;
  }
  index_phandles(fdt);
  return RL_OK;
}

int fdt_root(const struct fdt *fdt) {
  struct tok t;
  uint32_t off = 0;
  if (!is_open(fdt)) {
    return RL_ERR_INVALID;
  }
  for (;;) {
    rl_status st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_BEGIN_NODE) {
      return (int)off;
    }
    if (t.tag != TOK_NOP) {
      return RL_ERR_BAD_FORMAT;
    }
    off = t.next;
  }
}

rl_status fdt_walk_next(const struct fdt *fdt, int node, int *next,
                        int *depth) {
  struct tok t;
  int level = 0; /* depth a BEGIN_NODE seen now would have */
  rl_status st;

  if (next == NULL) {
    return RL_ERR_INVALID;
  }
  if (depth != NULL) {
    int stack[FDT_MAX_DEPTH];
    st = locate(fdt, node, stack, &level);
    if (st != RL_OK) {
      return st;
    }
  }
  level++;
  st = node_tok(fdt, node, &t);
  if (st != RL_OK) {
    return st;
  }
  int i = depth == NULL ? cache_index(fdt, node) : -1;
  if (i >= 0 && ((uint32_t)i + 1 < fdt->node_count || !fdt->node_more)) {
    /* The index holds the nodes in tree order: the next one is the next
     * entry, without reading the properties between them. */
    if ((uint32_t)i + 1 == fdt->node_count) {
      return RL_ERR_NOT_FOUND; /* the last node of the tree */
    }
    *next = fdt->node_cache[i + 1].node;
    return RL_OK;
  }
  uint32_t off = t.next;
  for (;;) {
    st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_BEGIN_NODE) {
      *next = (int)off;
      if (depth != NULL) {
        *depth = level;
      }
      return RL_OK;
    }
    if (t.tag == TOK_END_NODE) {
      level--;
      if (depth != NULL && level <= 0) {
        return RL_ERR_NOT_FOUND; /* closed the root */
      }
    } else if (t.tag == TOK_END) {
      return RL_ERR_NOT_FOUND;
    }
    off = t.next;
  }
}

rl_status fdt_first_child(const struct fdt *fdt, int node, int *child) {
  struct tok t;
  rl_status st = node_tok(fdt, node, &t);
  if (st != RL_OK) {
    return st;
  }
  if (child == NULL) {
    return RL_ERR_INVALID;
  }
  uint32_t off = t.next;
  for (;;) {
    st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_BEGIN_NODE) {
      *child = (int)off;
      return RL_OK;
    }
    if (t.tag == TOK_END_NODE) {
      return RL_ERR_NOT_FOUND;
    }
    if (t.tag == TOK_END) {
      return RL_ERR_BAD_FORMAT;
    }
    off = t.next;
  }
}

rl_status fdt_next_sibling(const struct fdt *fdt, int node, int *sibling) {
  struct tok t;
  uint32_t off;
  if (sibling == NULL) {
    return RL_ERR_INVALID;
  }
  int i = cache_index(fdt, node);
  if (i >= 0) {
    /* From the index: the first later entry whose parent is `node`'s or
     * an earlier node (left the parent's subtree) ends the search;
     * entries in between are `node`'s descendants. */
    int parent = fdt->node_cache[i].parent;
    for (uint32_t j = (uint32_t)i + 1; j < fdt->node_count; j++) {
      if (fdt->node_cache[j].parent <= parent) {
        if (fdt->node_cache[j].parent < parent) {
          return RL_ERR_NOT_FOUND;
        }
        *sibling = fdt->node_cache[j].node;
        return RL_OK;
      }
    }
    if (!fdt->node_more) {
      return RL_ERR_NOT_FOUND; /* the index is the whole tree */
    }
  }
  rl_status st = skip_node(fdt, node, &off);
  if (st != RL_OK) {
    return st;
  }
  for (;;) {
    st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_BEGIN_NODE) {
      *sibling = (int)off;
      return RL_OK;
    }
    if (t.tag == TOK_END_NODE || t.tag == TOK_END) {
      return RL_ERR_NOT_FOUND;
    }
    off = t.next;
  }
}

rl_status fdt_parent(const struct fdt *fdt, int node, int *parent) {
  int stack[FDT_MAX_DEPTH];
  int depth;
  if (parent == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = locate(fdt, node, stack, &depth);
  if (st != RL_OK) {
    return st;
  }
  if (depth == 0) {
    return RL_ERR_NOT_FOUND;
  }
  *parent = stack[depth - 1];
  return RL_OK;
}

const char *fdt_node_name(const struct fdt *fdt, int node) {
  struct tok t;
  if (node_tok(fdt, node, &t) != RL_OK) {
    return NULL;
  }
  return t.name;
}

/* `name` matches the path component p[0..n): exactly, or up to its '@'
 * when the component has no unit address (§2.2.3). */
static bool name_matches(const char *name, const char *p, uint32_t n) {
  bool has_at = false;
  for (uint32_t i = 0; i < n; i++) {
    if (name[i] != p[i]) {
      return false; /* also stops at name's NUL, since p has none */
    }
    if (p[i] == '@') {
      has_at = true;
    }
  }
  return name[n] == '\0' || (name[n] == '@' && !has_at);
}

rl_status fdt_path(const struct fdt *fdt, const char *path, int *node) {
  if (path == NULL || node == NULL || path[0] != '/') {
    return RL_ERR_INVALID;
  }
  int cur = fdt_root(fdt);
  if (cur < 0) {
    return cur;
  }
  const char *p = path;
  for (;;) {
    while (*p == '/') {
      p++;
    }
    if (*p == '\0') {
      break;
    }
    uint32_t n = 0;
    while (p[n] != '\0' && p[n] != '/') {
      n++;
    }
    int child;
    rl_status st = fdt_first_child(fdt, cur, &child);
    while (st == RL_OK && !name_matches(fdt_node_name(fdt, child), p, n)) {
      st = fdt_next_sibling(fdt, child, &child);
    }
    if (st != RL_OK) {
      return st;
    }
    cur = child;
    p += n;
  }
  *node = cur;
  return RL_OK;
}

/* The index-th property of `node`, or the one called `name` if not NULL. */
static rl_status find_prop(const struct fdt *fdt, int node, unsigned index,
                           const char *name, struct fdt_prop *prop) {
  struct tok t;
  rl_status st = node_tok(fdt, node, &t);
  if (st != RL_OK) {
    return st;
  }
  uint32_t off = t.next;
  for (;;) {
    st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_PROP) {
      if (name != NULL ? str_eq(t.prop.name, name) : index-- == 0) {
        if (prop != NULL) {
          *prop = t.prop;
        }
        return RL_OK;
      }
    } else if (t.tag != TOK_NOP) {
      return RL_ERR_NOT_FOUND; /* properties come before children */
    }
    off = t.next;
  }
}

rl_status fdt_prop_at(const struct fdt *fdt, int node, unsigned index,
                      struct fdt_prop *prop) {
  if (prop == NULL) {
    return RL_ERR_INVALID;
  }
  return find_prop(fdt, node, index, NULL, prop);
}

rl_status fdt_get_prop(const struct fdt *fdt, int node, const char *name,
                       struct fdt_prop *prop) {
  if (name == NULL || prop == NULL) {
    return RL_ERR_INVALID;
  }
  return find_prop(fdt, node, 0, name, prop);
}

rl_status fdt_get_u32(const struct fdt *fdt, int node, const char *name,
                      uint32_t *value) {
  struct fdt_prop p;
  if (value == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = fdt_get_prop(fdt, node, name, &p);
  if (st != RL_OK) {
    return st;
  }
  if (p.len != 4) {
    return RL_ERR_BAD_FORMAT;
  }
  *value = fdt_be32(p.data);
  return RL_OK;
}

rl_status fdt_get_str(const struct fdt *fdt, int node, const char *name,
                      const char **value) {
  struct fdt_prop p;
  if (value == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = fdt_get_prop(fdt, node, name, &p);
  if (st != RL_OK) {
    return st;
  }
  if (str_len(p.data, p.len) == p.len) {
    return RL_ERR_BAD_FORMAT; /* empty or not terminated */
  }
  *value = p.data;
  return RL_OK;
}

bool fdt_has_prop(const struct fdt *fdt, int node, const char *name) {
  return name != NULL && find_prop(fdt, node, 0, name, NULL) == RL_OK;
}

bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat) {
  struct fdt_prop p;
  if (compat == NULL || fdt_get_prop(fdt, node, "compatible", &p) != RL_OK) {
    return false;
  }
  const char *s = p.data;
  uint32_t rem = p.len;
  while (rem > 0) {
    uint32_t n = str_len(s, rem);
    if (n == rem) {
      return false; /* unterminated tail */
    }
    if (mem_eq_str(s, n, compat)) {
      return true;
    }
    s += n + 1;
    rem -= n + 1;
  }
  return false;
}

rl_status fdt_find_compatible(const struct fdt *fdt, int from,
                              const char *compat, int *node) {
  int cur;
  rl_status st = RL_OK;
  if (compat == NULL || node == NULL || from < -1) {
    return RL_ERR_INVALID;
  }
  if (from == -1) {
    cur = fdt_root(fdt);
    if (cur < 0) {
      return cur;
    }
  } else {
    st = fdt_walk_next(fdt, from, &cur, NULL);
  }
  while (st == RL_OK) {
    if (fdt_is_compatible(fdt, cur, compat)) {
      *node = cur;
      return RL_OK;
    }
    st = fdt_walk_next(fdt, cur, &cur, NULL);
  }
  return st;
}

/* One pass over the block. A node's phandle is its "phandle" or, when
 * that is absent or not one cell, its older "linux,phandle" (§2.3.3); the
 * first property of each name counts. Decided when the node's properties
 * end. */
rl_status fdt_find_phandle(const struct fdt *fdt, uint32_t phandle, int *node) {
  struct tok t;
  if (node == NULL) {
    return RL_ERR_INVALID;
  }
  int root = fdt_root(fdt);
  if (root < 0) {
    return root;
  }
  if (phandle == 0 || phandle == 0xffffffffu) {
    return RL_ERR_NOT_FOUND; /* never a valid phandle */
  }
  if (fdt->phandle_ready) {
    for (uint32_t i = 0; i < fdt->phandle_count; i++) {
      if (fdt->phandle_cache[i].phandle == phandle) {
        *node = fdt->phandle_cache[i].node;
        return RL_OK;
      }
    }
    if (!fdt->phandle_more) {
      return RL_ERR_NOT_FOUND;
    }
  }
  uint32_t off = (uint32_t)root;
  int cur = -1;       /* node whose properties are being read */
  int ph = 0, lx = 0; /* 0 absent, 1 one cell, 2 matching, 3 malformed */
  for (;;) {
    rl_status st = read_tok(fdt, off, &t);
    if (st != RL_OK) {
      return st;
    }
    if (t.tag == TOK_PROP && cur >= 0) {
      int v = t.prop.len != 4 ? 3 : fdt_be32(t.prop.data) == phandle ? 2 : 1;
      if (ph == 0 && str_eq(t.prop.name, "phandle")) {
        ph = v;
      } else if (lx == 0 && str_eq(t.prop.name, "linux,phandle")) {
        lx = v;
      }
    } else if (t.tag != TOK_NOP) {
      if (ph == 2 || ((ph == 0 || ph == 3) && lx == 2)) {
        *node = cur;
        return RL_OK;
      }
      if (t.tag == TOK_END) {
        return RL_ERR_NOT_FOUND;
      }
      cur = t.tag == TOK_BEGIN_NODE ? (int)off : -1;
      ph = lx = 0;
    }
    off = t.next;
  }
}

bool fdt_dma_coherent(const struct fdt *fdt, int node, bool arch_default) {
  if (fdt_has_prop(fdt, node, "dma-coherent")) {
    return true;
  }
  if (fdt_has_prop(fdt, node, "dma-noncoherent")) {
    return false;
  }
  return arch_default;
}

bool fdt_node_enabled(const struct fdt *fdt, int node) {
  struct fdt_prop p;
  rl_status st = fdt_get_prop(fdt, node, "status", &p);
  if (st == RL_ERR_NOT_FOUND) {
    return true;
  }
  if (st != RL_OK) {
    return false;
  }
  /* §2.3.4: "okay"; "ok" is an older spelling. */
  const char *v = p.data;
  return (p.len == 5 || p.len == 3) && v[p.len - 1] == '\0' &&
         mem_eq_str(v, p.len - 1, p.len == 5 ? "okay" : "ok");
}

/* A cell-count property of `node`, `def` when absent, at most MAX_CELLS. */
static rl_status cells_prop(const struct fdt *fdt, int node, const char *name,
                            uint32_t def, uint32_t *value) {
  rl_status st = fdt_get_u32(fdt, node, name, value);
  if (st == RL_ERR_NOT_FOUND) {
    *value = def;
    return RL_OK;
  }
  if (st != RL_OK) {
    return st;
  }
  return *value > MAX_CELLS ? RL_ERR_NOT_SUPPORTED : RL_OK;
}

rl_status fdt_reg_cells(const struct fdt *fdt, int node, uint32_t *addr_cells,
                        uint32_t *size_cells) {
  int parent;
  if (addr_cells == NULL || size_cells == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = fdt_parent(fdt, node, &parent);
  if (st == RL_ERR_NOT_FOUND) {
    *addr_cells = DEFAULT_ADDR_CELLS; /* the root: nothing above it */
    *size_cells = DEFAULT_SIZE_CELLS;
    return RL_OK;
  }
  if (st != RL_OK) {
    return st;
  }
  st =
      cells_prop(fdt, parent, "#address-cells", DEFAULT_ADDR_CELLS, addr_cells);
  if (st != RL_OK) {
    return st;
  }
  return cells_prop(fdt, parent, "#size-cells", DEFAULT_SIZE_CELLS, size_cells);
}

/* n (<= MAX_CELLS) big-endian cells as one number. */
static uint64_t read_cells(const uint8_t *p, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < n; i++) {
    v = (v << 32) | fdt_be32(p + (size_t)4 * i);
  }
  return v;
}

rl_status fdt_get_reg(const struct fdt *fdt, int node, unsigned index,
                      uint64_t *addr, uint64_t *size) {
  uint32_t ac, sc;
  struct fdt_prop p;
  if (addr == NULL || size == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = fdt_reg_cells(fdt, node, &ac, &sc);
  if (st != RL_OK) {
    return st;
  }
  st = fdt_get_prop(fdt, node, "reg", &p);
  if (st != RL_OK) {
    return st;
  }
  uint32_t entry = 4 * (ac + sc);
  if (entry == 0 || p.len % entry != 0) {
    return RL_ERR_BAD_FORMAT;
  }
  if (index >= p.len / entry) {
    return RL_ERR_NOT_FOUND;
  }
  const uint8_t *e = (const uint8_t *)p.data + (size_t)index * entry;
  *addr = read_cells(e, ac);
  *size = read_cells(e + (size_t)4 * ac, sc);
  return RL_OK;
}

rl_status fdt_interrupt_parent(const struct fdt *fdt, int node, int *parent,
                               uint32_t *cells) {
  if (parent == NULL || cells == NULL) {
    return RL_ERR_INVALID;
  }
  int cur = node;
  /* §2.4: a node without interrupt-parent inherits its tree parent's. */
  for (int hop = 0; hop < IRQ_MAX_HOPS; hop++) {
    int stack[FDT_MAX_DEPTH];
    int depth;
    uint32_t ph = 0;
    rl_status st = locate(fdt, cur, stack, &depth);
    if (st != RL_OK) {
      return st;
    }
    st = RL_ERR_NOT_FOUND;
    for (int i = depth; i >= 0 && st == RL_ERR_NOT_FOUND; i--) {
      st = fdt_get_u32(fdt, stack[i], "interrupt-parent", &ph);
    }
    if (st != RL_OK) {
      return st;
    }
    int target;
    st = fdt_find_phandle(fdt, ph, &target);
    if (st == RL_ERR_NOT_FOUND) {
      return RL_ERR_BAD_FORMAT; /* dangling phandle */
    }
    if (st != RL_OK) {
      return st;
    }
    st = fdt_get_u32(fdt, target, "#interrupt-cells", cells);
    if (st == RL_OK) {
      *parent = target;
      return RL_OK;
    }
    if (st != RL_ERR_NOT_FOUND) {
      return st;
    }
    cur = target;
  }
  return RL_ERR_BAD_FORMAT; /* interrupt-parent loop */
}

rl_status fdt_get_interrupt(const struct fdt *fdt, int node, unsigned index,
                            uint32_t *cells, size_t max, size_t *ncells) {
  struct fdt_prop p;
  int parent;
  uint32_t n;
  if (ncells == NULL || (cells == NULL && max != 0)) {
    return RL_ERR_INVALID;
  }
  rl_status st = fdt_get_prop(fdt, node, "interrupts", &p);
  if (st != RL_OK) {
    return st;
  }
  st = fdt_interrupt_parent(fdt, node, &parent, &n);
  if (st != RL_OK) {
    return st;
  }
  if (n == 0 || n > p.len / 4 || p.len % (4 * n) != 0) {
    return RL_ERR_BAD_FORMAT;
  }
  if (index >= p.len / (4 * n)) {
    return RL_ERR_NOT_FOUND;
  }
  *ncells = n;
  if (n > max) {
    return RL_ERR_NO_SPACE;
  }
  const uint8_t *e = (const uint8_t *)p.data + (size_t)index * 4 * n;
  for (uint32_t i = 0; i < n; i++) {
    cells[i] = fdt_be32(e + (size_t)4 * i);
  }
  return RL_OK;
}

rl_status fdt_mem_rsv(const struct fdt *fdt, unsigned index, uint64_t *addr,
                      uint64_t *size) {
  if (!is_open(fdt) || addr == NULL || size == NULL) {
    return RL_ERR_INVALID;
  }
  uint64_t off = fdt->rsvmap_off;
  for (unsigned i = 0;; i++, off += RSV_ENTRY_LEN) {
    if (off > fdt->size || fdt->size - off < RSV_ENTRY_LEN) {
      return RL_ERR_BAD_FORMAT;
    }
    uint64_t a = be64(fdt->blob + off);
    uint64_t s = be64(fdt->blob + off + 8);
    if (a == 0 && s == 0) {
      return RL_ERR_NOT_FOUND; /* the terminator */
    }
    if (i == index) {
      *addr = a;
      *size = s;
      return RL_OK;
    }
  }
}
