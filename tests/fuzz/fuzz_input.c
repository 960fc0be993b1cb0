/* virtio-input's parsing (drivers/input/input_proto.c) and the event
 * interface's pure parts (lib/input: pointer tracking, the keymap) with
 * arbitrary configuration answers and events.
 *
 * The harness keeps its own copy of what the device announced (the
 * bitmaps of every select answer the code took, per §5.8.4) and checks
 * each result against it: a size the select cannot have is refused
 * (over 128; DEVIDS not 8; ABS_INFO not 20 or max <= min) and changes
 * nothing; the name is printable and terminated; an event is accepted
 * exactly when it is 8 bytes long and its type and code were announced
 * (SYN_REPORT and SYN_DROPPED always); a tablet has valid X and Y ranges;
 * a pointer position is always inside the scanout; a key gives 0, '\b',
 * '\n' or a printable character.
 *
 * Input: a stream of operations, each an opcode byte and its operands:
 *   0 select answer: select, subsel, size, then min(size,128) bytes
 *   1 event: length (u8), 8 bytes
 *   2 pointer: scanout width and height (u16 each), then an event as 1
 *   3 key: code (u16), value (u32) */
#include <string.h>

#include "drivers/input/input_proto.h"
#include "fuzz_util.h"

struct oracle {
  uint8_t codes[INPUT_TYPES][VIRTIO_INPUT_CFG_DATA_MAX];
};

static int type_slot(uint16_t type) {
  for (int i = 0; i < INPUT_TYPES; i++) {
    if (input_types[i] == type) {
      return i;
    }
  }
  return -1;
}

static bool oracle_has(const struct oracle *o, uint16_t type, uint16_t code) {
  if (type == EV_SYN) {
    return code == SYN_REPORT || code == SYN_DROPPED;
  }
  int t = type_slot(type);
  return t >= 0 && code < 1024 && ((o->codes[t][code / 8] >> (code % 8)) & 1);
}

static int32_t le32s(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24);
}

static void op_select(struct fuzz_in *in, struct input_caps *caps,
                      struct oracle *o) {
  uint8_t select = fin_u8(in), subsel = fin_u8(in), size = fin_u8(in);
  uint8_t data[VIRTIO_INPUT_CFG_DATA_MAX] = {0};
  size_t got;
  const uint8_t *p = fin_bytes(in, RL_MIN((size_t)size, sizeof(data)), &got);
  memcpy(data, p, got);
  struct input_caps before = *caps;
  rl_status st = input_caps_take(caps, select, subsel, size, data);
  bool impossible =
      size > VIRTIO_INPUT_CFG_DATA_MAX ||
      (size != 0 && select == VIRTIO_INPUT_CFG_ID_DEVIDS &&
       size != VIRTIO_INPUT_DEVIDS_SIZE) ||
      (size != 0 && select == VIRTIO_INPUT_CFG_ABS_INFO &&
       (size != VIRTIO_INPUT_ABSINFO_SIZE || le32s(data + 4) <= le32s(data)));
  FUZZ_CHECK((st == RL_ERR_BAD_FORMAT) == impossible,
             "select %#x subsel %#x size %u: %d", select, subsel, size, st);
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_BAD_FORMAT, "status %d", st);
  if (st != RL_OK) {
    FUZZ_CHECK(caps->bad_sizes == before.bad_sizes + 1, "bad size not counted");
    before.bad_sizes++;
    FUZZ_CHECK(memcmp(&before, caps, sizeof(before)) == 0,
               "a refused answer changed the caps");
    return;
  }
  if (select == VIRTIO_INPUT_CFG_EV_BITS && size != 0) {
    int t = type_slot(subsel);
    if (t >= 0) {
      memset(o->codes[t], 0, sizeof(o->codes[t]));
      memcpy(o->codes[t], data, size);
    }
  }
  size_t n = strnlen(caps->name, sizeof(caps->name));
  FUZZ_CHECK(n < sizeof(caps->name), "name not terminated");
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(caps->name[i] >= ' ' && caps->name[i] <= '~',
               "name byte %zu is %#x", i, (unsigned)(uint8_t)caps->name[i]);
  }
}

static void check_event(const struct input_caps *caps, const struct oracle *o,
                        uint32_t len, const uint8_t *buf,
                        struct input_event *ev, bool *ok) {
  enum input_event_verdict v = input_event_check(caps, buf, len, ev);
  *ok = false;
  if (len != VIRTIO_INPUT_EVENT_SIZE) {
    FUZZ_CHECK(v == INPUT_EVENT_BAD_LENGTH, "length %u accepted", len);
    return;
  }
  uint16_t type = (uint16_t)(buf[0] | buf[1] << 8);
  uint16_t code = (uint16_t)(buf[2] | buf[3] << 8);
  FUZZ_CHECK(ev->type == type && ev->code == code &&
                 ev->value == le32s(buf + 4),
             "event decoded wrong");
  bool want = oracle_has(o, type, code);
  FUZZ_CHECK((v == INPUT_EVENT_OK) == want, "type %u code %u: verdict %d", type,
             code, v);
  FUZZ_CHECK(v == INPUT_EVENT_OK || v == INPUT_EVENT_UNKNOWN, "verdict %d", v);
  *ok = want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  static struct input_caps caps;
  static struct oracle o;
  memset(&caps, 0, sizeof(caps));
  memset(&o, 0, sizeof(o));
  struct input_source src = {.name = "fuzz"};
  struct input_pointer ptr;
  memset(&ptr, 0, sizeof(ptr));
  struct input_keyboard kbd = {false, false, false};
  while (!fin_empty(&in)) {
    uint8_t op = fin_u8(&in) % 4;
    if (op == 0) {
      op_select(&in, &caps, &o);
      enum input_kind kind = input_caps_classify(&caps);
      src.kind = kind;
      src.abs_x = caps.abs_x;
      src.abs_y = caps.abs_y;
      if (kind == INPUT_KIND_TABLET) {
        FUZZ_CHECK(caps.abs_x.valid && caps.abs_y.valid &&
                       caps.abs_x.max > caps.abs_x.min &&
                       caps.abs_y.max > caps.abs_y.min,
                   "tablet without ranges");
      }
      continue;
    }
    if (op == 3) {
      uint16_t code = fin_u16(&in);
      int32_t value = (int32_t)fin_u32(&in);
      bool caps_changed;
      char c = input_key_char(&kbd, code, value, &caps_changed);
      FUZZ_CHECK(c == 0 || c == '\b' || c == '\n' || (c >= ' ' && c <= '~'),
                 "key %u gives %#x", code, (unsigned)(uint8_t)c);
      FUZZ_CHECK(!caps_changed || code == KEY_CAPSLOCK, "caps from key %u",
                 code);
      continue;
    }
    uint32_t w = 0, h = 0;
    if (op == 2) {
      w = fin_u16(&in);
      h = fin_u16(&in);
    }
    uint32_t len = fin_u8(&in) % 12;
    uint8_t buf[VIRTIO_INPUT_EVENT_SIZE] = {0};
    size_t got;
    memcpy(buf, fin_bytes(&in, sizeof(buf), &got), got);
    struct input_event ev;
    bool ok;
    check_event(&caps, &o, len, buf, &ev, &ok);
    if (op == 2 && ok) {
      uint32_t x = UINT32_MAX, y = UINT32_MAX;
      if (input_pointer_feed(&ptr, &src, &ev, w, h, &x, &y)) {
        FUZZ_CHECK(w > 0 && h > 0 && x < w && y < h,
                   "pointer at (%u,%u) on %ux%u", x, y, w, h);
      }
      if (src.abs_x.valid && w > 0) {
        FUZZ_CHECK(input_scale_abs(ev.value, src.abs_x.min, src.abs_x.max, w) <
                       w,
                   "scaled out of range");
      }
    }
  }
  return 0;
}
