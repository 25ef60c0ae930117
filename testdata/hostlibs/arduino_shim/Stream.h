#ifndef ATBRIDGE_STREAM_H
#define ATBRIDGE_STREAM_H
#include "Print.h"

// Stream as Arduino's: reads with a timeout (setTimeout, default 1000 ms).
class Stream : public Print {
protected:
  unsigned long _timeout = 1000;
  int timedRead();
  int timedPeek();

public:
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int peek() = 0;
  void setTimeout(unsigned long ms) { _timeout = ms; }
  unsigned long getTimeout() { return _timeout; }
  bool find(const char *target);
  size_t readBytes(char *buf, size_t n);
  size_t readBytes(uint8_t *buf, size_t n) { return readBytes((char *)buf, n); }
  size_t readBytesUntil(char term, char *buf, size_t n);
  size_t readBytesUntil(char term, uint8_t *buf, size_t n) { return readBytesUntil(term, (char *)buf, n); }
  long parseInt();
};
#endif
