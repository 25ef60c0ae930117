// A small Arduino core for Linux, ours: just what WiFiEspAT (vendored
// unchanged in ../wifiespat) uses, so the library compiles with g++ and
// drives an ESP-AT device on a pty. Not Arduino's code.
#ifndef ATBRIDGE_ARDUINO_H
#define ATBRIDGE_ARDUINO_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGMEM
#define PSTR(s) (s)
typedef const char *PGM_P;
class __FlashStringHelper;
#define F(s) (reinterpret_cast<const __FlashStringHelper *>(s))
#define strcpy_P strcpy
#define strncpy_P strncpy
#define strcmp_P strcmp
#define strncmp_P strncmp
#define strlen_P strlen
#define strstr_P strstr
#define memcpy_P memcpy
#define sprintf_P sprintf
#define snprintf_P snprintf
#define pgm_read_byte(p) (*(const uint8_t *)(p))

#define HIGH 1
#define LOW 0
#define INPUT 0
#define OUTPUT 1
#define DEC 10
#define HEX 16

typedef uint8_t byte;
typedef bool boolean;

unsigned long millis();
unsigned long micros();
void delay(unsigned long ms);
void yield();
inline void pinMode(int, int) {}
inline void digitalWrite(int, int) {}

#include "itoa.h"
#include "Print.h"
#include "Stream.h"
#include "WString.h"
#include "IPAddress.h"

#endif
