/* virtio-input configuration and event checks (input_proto.h), virtio 1.2
 * §5.8.4 and §5.8.6. */
#include <string.h>

#include "input_proto.h"

const uint8_t input_types[INPUT_TYPES] = {EV_KEY, EV_REL, EV_ABS, EV_MSC,
                                          EV_SW,  EV_LED, EV_REP};

static int type_index(uint16_t type) {
  for (int i = 0; i < INPUT_TYPES; i++) {
    if (input_types[i] == type) {
      return i;
    }
  }
  return -1;
}

static uint16_t le16(const uint8_t *p) {
  return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static rl_status bad(struct input_caps *caps) {
  caps->bad_sizes++;
  return RL_ERR_BAD_FORMAT;
}

rl_status input_caps_take(struct input_caps *caps, uint8_t select,
                          uint8_t subsel, uint8_t size, const uint8_t *data) {
  if (size == 0) {
    return RL_OK; /* §5.8.4: not supported */
  }
  if (size > VIRTIO_INPUT_CFG_DATA_MAX) {
    return bad(caps);
  }
  switch (select) {
  case VIRTIO_INPUT_CFG_ID_NAME: {
    /* A string of `size` bytes, not necessarily terminated. */
    size_t n = 0;
    for (; n < size && data[n] != '\0'; n++) {
      uint8_t c = data[n];
      caps->name[n] = (char)((c >= ' ' && c <= '~') ? c : '?');
    }
    caps->name[n] = '\0';
    return RL_OK;
  }
  case VIRTIO_INPUT_CFG_ID_DEVIDS:
    if (size != VIRTIO_INPUT_DEVIDS_SIZE) {
      return bad(caps);
    }
    caps->have_ids = true;
    caps->bustype = le16(data);
    caps->vendor = le16(data + 2);
    caps->product = le16(data + 4);
    caps->version = le16(data + 6);
    return RL_OK;
  case VIRTIO_INPUT_CFG_PROP_BITS:
    memset(caps->props, 0, sizeof(caps->props));
    memcpy(caps->props, data, size);
    return RL_OK;
  case VIRTIO_INPUT_CFG_EV_BITS: {
    int t = type_index(subsel);
    if (t < 0) {
      return RL_OK; /* a type the driver does not take: ignored */
    }
    memset(caps->codes[t], 0, sizeof(caps->codes[t]));
    memcpy(caps->codes[t], data, size);
    return RL_OK;
  }
  case VIRTIO_INPUT_CFG_ABS_INFO: {
    if (size != VIRTIO_INPUT_ABSINFO_SIZE) {
      return bad(caps);
    }
    int32_t min = (int32_t)le32(data), max = (int32_t)le32(data + 4);
    if (max <= min) {
      return bad(caps);
    }
    struct input_absinfo info = {min, max, true};
    if (subsel == ABS_X) {
      caps->abs_x = info;
    } else if (subsel == ABS_Y) {
      caps->abs_y = info;
    }
    return RL_OK;
  }
  default:
    return RL_OK; /* ID_SERIAL and the rest: nothing the driver needs */
  }
}

bool input_caps_has(const struct input_caps *caps, uint16_t type,
                    uint16_t code) {
  if (type == EV_SYN) {
    return code == SYN_REPORT || code == SYN_DROPPED;
  }
  int t = type_index(type);
  if (t < 0 || code >= VIRTIO_INPUT_CFG_DATA_MAX * 8) {
    return false;
  }
  return (caps->codes[t][code / 8] >> (code % 8)) & 1u;
}

enum input_kind input_caps_classify(const struct input_caps *caps) {
  if (input_caps_has(caps, EV_ABS, ABS_X) &&
      input_caps_has(caps, EV_ABS, ABS_Y) && caps->abs_x.valid &&
      caps->abs_y.valid) {
    return INPUT_KIND_TABLET;
  }
  if (input_caps_has(caps, EV_REL, REL_X) &&
      input_caps_has(caps, EV_REL, REL_Y)) {
    return INPUT_KIND_MOUSE;
  }
  for (uint16_t code = KEY_Q; code <= KEY_M; code++) {
    if (input_caps_has(caps, EV_KEY, code)) {
      return INPUT_KIND_KEYBOARD;
    }
  }
  return INPUT_KIND_OTHER;
}

enum input_event_verdict input_event_check(const struct input_caps *caps,
                                           const uint8_t *buf, uint32_t len,
                                           struct input_event *ev) {
  if (len != VIRTIO_INPUT_EVENT_SIZE) {
    return INPUT_EVENT_BAD_LENGTH;
  }
  ev->type = le16(buf);
  ev->code = le16(buf + 2);
  ev->value = (int32_t)le32(buf + 4);
  if (!input_caps_has(caps, ev->type, ev->code)) {
    return INPUT_EVENT_UNKNOWN;
  }
  return INPUT_EVENT_OK;
}

void input_event_encode(uint8_t *buf, uint16_t type, uint16_t code,
                        int32_t value) {
  uint32_t v = (uint32_t)value;
  buf[0] = (uint8_t)type;
  buf[1] = (uint8_t)(type >> 8);
  buf[2] = (uint8_t)code;
  buf[3] = (uint8_t)(code >> 8);
  for (int i = 0; i < 4; i++) {
    buf[4 + i] = (uint8_t)(v >> (8 * i));
  }
}
