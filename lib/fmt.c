/* rl_vsnprintf: a small printf formatter (see fmt.h for what it does). */
#include <lib/fmt.h>

#include <stdbool.h>
#include <stdint.h>

#define INT_LIMIT ((size_t)__INT_MAX__)

enum {
  F_LEFT = 1 << 0,  /* '-' */
  F_ZERO = 1 << 1,  /* '0' */
  F_ALT = 1 << 2,   /* '#' */
  F_PLUS = 1 << 3,  /* '+' */
  F_SPACE = 1 << 4, /* ' ' */
};

enum len_mod { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* Output cursor: `len` counts every byte produced, written or not. */
struct out {
  char *buf;
  size_t size;
  size_t len;
};

static void add_len(struct out *o, size_t n) {
  o->len = (n > SIZE_MAX - o->len) ? SIZE_MAX : o->len + n;
}

static void put(struct out *o, char c) {
  /* Keep the last byte of the buffer for the NUL. */
  if (o->size > 0 && o->len < o->size - 1) {
    o->buf[o->len] = c;
  }
  add_len(o, 1);
}

/* `n` copies of `c`; only what fits is written, the rest is counted. */
static void put_rep(struct out *o, char c, size_t n) {
  while (n > 0 && o->size > 0 && o->len < o->size - 1) {
    o->buf[o->len++] = c;
    n--;
  }
  add_len(o, n);
}

static void put_str(struct out *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    put(o, s[i]);
  }
}

/* clang-analyzer does not follow a va_list passed by pointer, and
 * ptrdiff_t and intmax_t are one type on some targets only. */
// NOLINTBEGIN(clang-analyzer-valist.Uninitialized, bugprone-branch-clone)
static intmax_t fetch_signed(va_list *ap, enum len_mod len) {
  switch (len) {
  case LEN_HH:
    return (signed char)va_arg(*ap, int);
  case LEN_H:
    return (short)va_arg(*ap, int);
  case LEN_L:
    return va_arg(*ap, long);
  case LEN_LL:
    return va_arg(*ap, long long);
  case LEN_Z:
    /* The signed type of size_t's width. */
    return (intmax_t)(ptrdiff_t)va_arg(*ap, size_t);
  case LEN_T:
    return va_arg(*ap, ptrdiff_t);
  case LEN_J:
    return va_arg(*ap, intmax_t);
  case LEN_NONE:
  default:
    return va_arg(*ap, int);
  }
}

static uintmax_t fetch_unsigned(va_list *ap, enum len_mod len) {
  switch (len) {
  case LEN_HH:
    return (unsigned char)va_arg(*ap, unsigned int);
  case LEN_H:
    return (unsigned short)va_arg(*ap, unsigned int);
  case LEN_L:
    return va_arg(*ap, unsigned long);
  case LEN_LL:
    return va_arg(*ap, unsigned long long);
  case LEN_Z:
    return va_arg(*ap, size_t);
  case LEN_T:
    /* The unsigned type of ptrdiff_t's width. */
    return (size_t)va_arg(*ap, ptrdiff_t);
  case LEN_J:
    return va_arg(*ap, uintmax_t);
  case LEN_NONE:
  default:
    return va_arg(*ap, unsigned int);
  }
}

struct spec {
  unsigned flags;
  size_t width;
  int prec; /* -1: none given */
};

/* One integer: sign or 0x prefix, zeros for precision or the 0 flag,
 * digits, padding. `sign` is '-', '+', ' ' or 0. */
static void emit_int(struct out *o, const struct spec *sp, uintmax_t mag,
                     char sign, unsigned base, bool upper, bool hex_prefix) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[sizeof(uintmax_t) * 3]; /* octal needs 22 for 64 bits */
  size_t n = 0;
  char prefix[3];
  size_t plen = 0;

  if (!(mag == 0 && sp->prec == 0)) {
    uintmax_t v = mag;
    do {
      tmp[n++] = digits[v % base];
      v /= base;
    } while (v != 0);
  }

  if (sign != 0) {
    prefix[plen++] = sign;
  }
  if (hex_prefix) {
    prefix[plen++] = '0';
    prefix[plen++] = upper ? 'X' : 'x';
  }

  size_t zeros = 0;
  if (sp->prec >= 0 && (size_t)sp->prec > n) {
    zeros = (size_t)sp->prec - n;
  }
  /* %#o: the first digit must be 0. */
  if (base == 8 && (sp->flags & F_ALT) && zeros == 0 &&
      (n == 0 || tmp[n - 1] != '0')) {
    zeros = 1;
  }
  if ((sp->flags & F_ZERO) && !(sp->flags & F_LEFT) && sp->prec < 0 &&
      sp->width > plen + n) {
    zeros = RL_MAX(zeros, sp->width - plen - n);
  }

  size_t total = plen + zeros + n;
  size_t pad = sp->width > total ? sp->width - total : 0;

  if (!(sp->flags & F_LEFT)) {
    put_rep(o, ' ', pad);
  }
  put_str(o, prefix, plen);
  put_rep(o, '0', zeros);
  while (n > 0) {
    put(o, tmp[--n]);
  }
  if (sp->flags & F_LEFT) {
    put_rep(o, ' ', pad);
  }
}

static void emit_padded(struct out *o, const struct spec *sp, const char *s,
                        size_t n) {
  size_t pad = sp->width > n ? sp->width - n : 0;
  if (!(sp->flags & F_LEFT)) {
    put_rep(o, ' ', pad);
  }
  put_str(o, s, n);
  if (sp->flags & F_LEFT) {
    put_rep(o, ' ', pad);
  }
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parses decimal digits at *p, saturating at INT_MAX. */
static size_t parse_num(const char **p) {
  size_t v = 0;
  while (is_digit(**p)) {
    size_t d = (size_t)(**p - '0');
    v = (v > (INT_LIMIT - d) / 10) ? INT_LIMIT : v * 10 + d;
    (*p)++;
  }
  return v;
}

/* Handles the conversion starting at *pp (just after '%'). Returns false
 * when the format ended inside it. */
static bool convert(struct out *o, const char **pp, va_list *ap) {
  const char *start = *pp - 1; /* the '%' */
  const char *p = *pp;
  struct spec sp = {0, 0, -1};

  for (;; p++) {
    if (*p == '-') {
      sp.flags |= F_LEFT;
    } else if (*p == '0') {
      sp.flags |= F_ZERO;
    } else if (*p == '#') {
      sp.flags |= F_ALT;
    } else if (*p == '+') {
      sp.flags |= F_PLUS;
    } else if (*p == ' ') {
      sp.flags |= F_SPACE;
    } else {
      break;
    }
  }

  if (*p == '*') {
    int w = va_arg(*ap, int);
    p++;
    if (w < 0) {
      sp.flags |= F_LEFT;
      sp.width = (size_t)(-(intmax_t)w);
    } else {
      sp.width = (size_t)w;
    }
  } else {
    sp.width = parse_num(&p);
  }

  if (*p == '.') {
    p++;
    if (*p == '*') {
      int pr = va_arg(*ap, int);
      p++;
      sp.prec = pr < 0 ? -1 : pr;
    } else {
      sp.prec = (int)parse_num(&p);
    }
  }

  enum len_mod len = LEN_NONE;
  if (p[0] == 'h' && p[1] == 'h') {
    len = LEN_HH;
    p += 2;
  } else if (p[0] == 'l' && p[1] == 'l') {
    len = LEN_LL;
    p += 2;
  } else if (*p == 'h') {
    len = LEN_H;
    p++;
  } else if (*p == 'l') {
    len = LEN_L;
    p++;
  } else if (*p == 'z') {
    len = LEN_Z;
    p++;
  } else if (*p == 't') {
    len = LEN_T;
    p++;
  } else if (*p == 'j') {
    len = LEN_J;
    p++;
  }

  char conv = *p;
  if (conv == '\0') {
    /* Unfinished conversion at the end: copy it out as text. */
    put_str(o, start, (size_t)(p - start));
    *pp = p;
    return false;
  }
  p++;
  *pp = p;

  switch (conv) {
  case 'd':
  case 'i': {
    intmax_t v = fetch_signed(ap, len);
    uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;
    char sign = 0;
    if (v < 0) {
      sign = '-';
    } else if (sp.flags & F_PLUS) {
      sign = '+';
    } else if (sp.flags & F_SPACE) {
      sign = ' ';
    }
    emit_int(o, &sp, mag, sign, 10, false, false);
    break;
  }
  case 'u':
    emit_int(o, &sp, fetch_unsigned(ap, len), 0, 10, false, false);
    break;
  case 'o':
    emit_int(o, &sp, fetch_unsigned(ap, len), 0, 8, false, false);
    break;
  case 'x':
  case 'X': {
    uintmax_t v = fetch_unsigned(ap, len);
    emit_int(o, &sp, v, 0, 16, conv == 'X', (sp.flags & F_ALT) && v != 0);
    break;
  }
  case 'p': {
    uintptr_t v = (uintptr_t)va_arg(*ap, void *);
    emit_int(o, &sp, v, 0, 16, false, true);
    break;
  }
  case 'c': {
    char c = (char)va_arg(*ap, int);
    emit_padded(o, &sp, &c, 1);
    break;
  }
  case 's': {
    const char *s = va_arg(*ap, const char *);
    if (s == NULL) {
      s = "(null)";
    }
    size_t n = 0;
    /* Never read past the precision: the string may end there. */
    while ((sp.prec < 0 || n < (size_t)sp.prec) && s[n] != '\0') {
      n++;
    }
    emit_padded(o, &sp, s, n);
    break;
  }
  case '%':
    put(o, '%');
    break;
  default:
    /* Unsupported: copy the whole conversion out unchanged. */
    put_str(o, start, (size_t)(p - start));
    break;
  }
  return true;
}

// NOLINTEND(clang-analyzer-valist.Uninitialized, bugprone-branch-clone)

int rl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  va_list args;
  const char *p = fmt;

  if (buf == NULL) {
    o.size = 0;
  }
  va_copy(args, ap);
  while (*p != '\0') {
    if (*p != '%') {
      put(&o, *p++);
      continue;
    }
    p++;
    if (!convert(&o, &p, &args)) {
      break;
    }
  }
  va_end(args);

  if (o.size > 0) {
    o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
  }
  return o.len > INT_LIMIT ? -1 : (int)o.len;
}

int rl_snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = rl_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

size_t rl_append(char *buf, size_t size, size_t at, const char *s) {
  while (at + 1 < size && *s != '\0') {
    buf[at++] = *s++;
  }
  buf[at] = '\0';
  return at;
}

size_t rl_append_dec(char *buf, size_t size, size_t at, uint64_t v) {
  char digits[21]; /* 20 digits, backwards, and the NUL */
  size_t n = sizeof(digits) - 1;
  digits[n] = '\0';
  do {
    digits[--n] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0);
  return rl_append(buf, size, at, digits + n);
}

size_t rl_append_hex(char *buf, size_t size, size_t at, uint64_t v) {
  char digits[19]; /* "0x" and 16 digits, backwards, and the NUL */
  size_t n = sizeof(digits) - 1;
  digits[n] = '\0';
  do {
    digits[--n] = "0123456789abcdef"[v & 15u];
    v >>= 4;
  } while (v != 0);
  if (digits[n] != '0') {
    digits[--n] = 'x';
    digits[--n] = '0';
  }
  return rl_append(buf, size, at, digits + n);
}
