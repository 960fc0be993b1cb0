/* Event types and codes of the input event interface: the Linux evdev
 * numbering, which virtio-input uses on the wire (virtio 1.2 §5.8.6:
 * "the event types and codes are the ones of Linux's input layer"). Only
 * the codes Ringlight names; a driver passes any announced code on. */
#ifndef LIB_INPUT_CODES_H
#define LIB_INPUT_CODES_H

/* Types. */
#define EV_SYN 0x00
#define EV_KEY 0x01
#define EV_REL 0x02
#define EV_ABS 0x03
#define EV_MSC 0x04
#define EV_SW 0x05
#define EV_LED 0x11
#define EV_SND 0x12
#define EV_REP 0x14
#define EV_MAX 0x1f

/* EV_SYN codes. */
#define SYN_REPORT 0
#define SYN_DROPPED 3

/* EV_REL and EV_ABS codes. */
#define REL_X 0x00
#define REL_Y 0x01
#define REL_WHEEL 0x08
#define REL_MAX 0x0f
#define ABS_X 0x00
#define ABS_Y 0x01
#define ABS_MAX 0x3f

/* EV_LED codes. */
#define LED_NUML 0x00
#define LED_CAPSL 0x01
#define LED_SCROLLL 0x02
#define LED_MAX 0x0f

/* EV_KEY codes (keys of a US keyboard the console maps, and buttons). */
#define KEY_ESC 1
#define KEY_1 2
#define KEY_0 11
#define KEY_MINUS 12
#define KEY_EQUAL 13
#define KEY_BACKSPACE 14
#define KEY_TAB 15
#define KEY_Q 16
#define KEY_P 25
#define KEY_LEFTBRACE 26
#define KEY_RIGHTBRACE 27
#define KEY_ENTER 28
#define KEY_LEFTCTRL 29
#define KEY_A 30
#define KEY_B 48
#define KEY_L 38
#define KEY_SEMICOLON 39
#define KEY_APOSTROPHE 40
#define KEY_GRAVE 41
#define KEY_LEFTSHIFT 42
#define KEY_BACKSLASH 43
#define KEY_Z 44
#define KEY_M 50
#define KEY_COMMA 51
#define KEY_DOT 52
#define KEY_SLASH 53
#define KEY_RIGHTSHIFT 54
#define KEY_SPACE 57
#define KEY_CAPSLOCK 58
#define KEY_KPENTER 96
#define BTN_LEFT 0x110
#define KEY_MAX 0x2ff

#endif
