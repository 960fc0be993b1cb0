/* A US keyboard layout (input.h): evdev key codes to characters, with
 * Shift (either) and Caps Lock (letters only). */
#include <lib/input/input.h>

/* Codes KEY_1 (2) to KEY_SLASH (53), plain and shifted; 0: no character
 * (Backspace, Tab, Enter, Ctrl, Shift keep their own handling). */
#define FIRST_CODE KEY_1
static const char plain[] = "1234567890-=\0\0"
                            "qwertyuiop[]\0\0"
                            "asdfghjkl;'`\0\\"
                            "zxcvbnm,./";
static const char shifted[] = "!@#$%^&*()_+\0\0"
                              "QWERTYUIOP{}\0\0"
                              "ASDFGHJKL:\"~\0|"
                              "ZXCVBNM<>?";

char input_key_char(struct input_keyboard *k, uint16_t code, int32_t value,
                    bool *caps_changed) {
  bool down = value != 0; /* 1 press, 2 autorepeat */
  *caps_changed = false;
  if (code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT) {
    *(code == KEY_LEFTSHIFT ? &k->lshift : &k->rshift) = down;
    return 0;
  }
  if (!down) {
    return 0;
  }
  switch (code) {
  case KEY_CAPSLOCK:
    if (value == 1) { /* not on autorepeat */
      k->caps = !k->caps;
      *caps_changed = true;
    }
    return 0;
  case KEY_BACKSPACE:
    return '\b';
  case KEY_ENTER:
  case KEY_KPENTER:
    return '\n';
  case KEY_SPACE:
    return ' ';
  default:
    break;
  }
  if (code < FIRST_CODE || code >= FIRST_CODE + sizeof(plain) - 1) {
    return 0;
  }
  unsigned i = code - FIRST_CODE;
  bool shift = k->lshift || k->rshift;
  char c = plain[i];
  bool letter = c >= 'a' && c <= 'z';
  if (letter ? shift != k->caps : shift) {
    c = shifted[i];
  }
  return c;
}
