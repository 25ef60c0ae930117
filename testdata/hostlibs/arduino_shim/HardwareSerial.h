#ifndef ATBRIDGE_HARDWARESERIAL_H
#define ATBRIDGE_HARDWARESERIAL_H
#include "Arduino.h"

// HardwareSerial over a tty device path (ours).
class HardwareSerial : public Stream {
  int fd = -1;
  int peeked = -1;

public:
  bool open(const char *path);
  void begin(unsigned long baud);
  int available() override;
  int read() override;
  int peek() override;
  size_t write(uint8_t c) override;
  size_t write(const uint8_t *buf, size_t n) override;
  using Print::write;
  void flush() override;
};

// Console is Serial, the sketch's console, on stdout.
class Console : public Stream {
public:
  int available() override { return 0; }
  int read() override { return -1; }
  int peek() override { return -1; }
  size_t write(uint8_t c) override;
  using Print::write;
  void begin(unsigned long) {}
  operator bool() { return true; }
};
extern Console Serial;
#endif
