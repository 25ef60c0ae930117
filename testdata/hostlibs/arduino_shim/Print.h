#ifndef ATBRIDGE_PRINT_H
#define ATBRIDGE_PRINT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

class __FlashStringHelper;
class Print;

class Printable {
public:
  virtual ~Printable() {}
  virtual size_t printTo(Print &p) const = 0;
};

// Print as Arduino's: write(uint8_t) is the one a subclass must give.
class Print {
  int write_error = 0;

protected:
  void setWriteError(int err = 1) { write_error = err; }

public:
  int getWriteError() { return write_error; }
  void clearWriteError() { setWriteError(0); }
  virtual ~Print() {}
  virtual size_t write(uint8_t) = 0;
  virtual size_t write(const uint8_t *buf, size_t n) {
    size_t k = 0;
    while (n--) {
      if (!write(*buf++)) break;
      k++;
    }
    return k;
  }
  size_t write(const char *s) { return s ? write((const uint8_t *)s, strlen(s)) : 0; }
  size_t write(const char *buf, size_t n) { return write((const uint8_t *)buf, n); }
  virtual int availableForWrite() { return 0; }
  virtual void flush() {}

  size_t print(const __FlashStringHelper *s) { return write((const char *)s); }
  size_t print(const char *s) { return write(s); }
  size_t print(char c) { return write((uint8_t)c); }
  size_t print(unsigned char v, int base = 10) { return print((unsigned long)v, base); }
  size_t print(int v, int base = 10) { return print((long)v, base); }
  size_t print(unsigned int v, int base = 10) { return print((unsigned long)v, base); }
  size_t print(long v, int base = 10);
  size_t print(unsigned long v, int base = 10);
  size_t print(double v, int digits = 2);
  size_t print(const Printable &p) { return p.printTo(*this); }
  template <typename T> size_t println(T v) { size_t n = print(v); return n + println(); }
  template <typename T> size_t println(T v, int base) { size_t n = print(v, base); return n + println(); }
  size_t println() { return write("\r\n"); }
};
#endif
