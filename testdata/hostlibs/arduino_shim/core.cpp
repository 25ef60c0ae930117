// The implementation of our small Arduino core for Linux (see Arduino.h).
#include "Arduino.h"
#include "HardwareSerial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static unsigned long long nowMicros() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}
static const unsigned long long startMicros = nowMicros();
unsigned long millis() { return (nowMicros() - startMicros) / 1000; }
unsigned long micros() { return nowMicros() - startMicros; }
void delay(unsigned long ms) { usleep(ms * 1000); }
void yield() {}

static char *utoa_base(unsigned long v, char *s, int radix) {
  char tmp[sizeof(unsigned long) * 8 + 1];
  int i = 0;
  do {
    int d = v % radix;
    tmp[i++] = d < 10 ? '0' + d : 'a' + d - 10;
    v /= radix;
  } while (v);
  int j = 0;
  while (i) s[j++] = tmp[--i];
  s[j] = 0;
  return s;
}
char *ultoa(unsigned long v, char *s, int radix) { return utoa_base(v, s, radix); }
char *utoa(unsigned v, char *s, int radix) { return utoa_base(v, s, radix); }
char *ltoa(long v, char *s, int radix) {
  if (v < 0 && radix == 10) {
    s[0] = '-';
    utoa_base((unsigned long)(-v), s + 1, radix);
    return s;
  }
  return utoa_base((unsigned long)v, s, radix);
}
char *itoa(int v, char *s, int radix) { return ltoa(v, s, radix); }

size_t Print::print(long v, int base) {
  char b[40];
  return write(ltoa(v, b, base));
}
size_t Print::print(unsigned long v, int base) {
  char b[40];
  return write(ultoa(v, b, base));
}
size_t Print::print(double v, int digits) {
  char b[64];
  snprintf(b, sizeof b, "%.*f", digits, v);
  return write(b);
}

int Stream::timedRead() {
  unsigned long start = millis();
  do {
    int c = read();
    if (c >= 0) return c;
    yield();
  } while (millis() - start < _timeout);
  return -1;
}
int Stream::timedPeek() {
  unsigned long start = millis();
  do {
    int c = peek();
    if (c >= 0) return c;
  } while (millis() - start < _timeout);
  return -1;
}
bool Stream::find(const char *target) {
  size_t n = strlen(target), i = 0;
  if (!n) return true;
  for (;;) {
    int c = timedRead();
    if (c < 0) return false;
    i = (c == target[i]) ? i + 1 : (c == target[0] ? 1 : 0);
    if (i == n) return true;
  }
}
size_t Stream::readBytes(char *buf, size_t n) {
  size_t k = 0;
  while (k < n) {
    int c = timedRead();
    if (c < 0) break;
    buf[k++] = (char)c;
  }
  return k;
}
size_t Stream::readBytesUntil(char term, char *buf, size_t n) {
  size_t k = 0;
  while (k < n) {
    int c = timedRead();
    if (c < 0 || c == term) break;
    buf[k++] = (char)c;
  }
  return k;
}
long Stream::parseInt() {
  int c;
  do {
    c = timedPeek();
    if (c < 0) return 0;
    if (c == '-' || isdigit(c)) break;
    read();
  } while (true);
  bool neg = false;
  long v = 0;
  if (c == '-') { neg = true; read(); }
  while ((c = timedPeek()) >= 0 && isdigit(c)) { v = v * 10 + (c - '0'); read(); }
  return neg ? -v : v;
}

bool IPAddress::fromString(const char *s) {
  unsigned a[4];
  char end;
  int n = sscanf(s, "%u.%u.%u.%u%c", &a[0], &a[1], &a[2], &a[3], &end);
  if (n < 4) return false;
  for (int i = 0; i < 4; i++) {
    if (a[i] > 255) return false;
    _address.bytes[i] = a[i];
  }
  return true;
}
size_t IPAddress::printTo(Print &p) const {
  size_t n = 0;
  for (int i = 0; i < 4; i++) {
    if (i) n += p.print('.');
    n += p.print((unsigned)_address.bytes[i]);
  }
  return n;
}

// HardwareSerial over a tty device path (a pty from atbridge).
bool HardwareSerial::open(const char *path) {
  fd = ::open(path, O_RDWR | O_NOCTTY);
  if (fd < 0) return false;
  struct termios t;
  tcgetattr(fd, &t);
  cfmakeraw(&t);
  cfsetspeed(&t, B115200);
  tcsetattr(fd, TCSANOW, &t);
  return true;
}
void HardwareSerial::begin(unsigned long) {}
int HardwareSerial::available() {
  int n = 0;
  ioctl(fd, FIONREAD, &n);
  return n + (peeked >= 0 ? 1 : 0);
}
int HardwareSerial::read() {
  if (peeked >= 0) {
    int c = peeked;
    peeked = -1;
    return c;
  }
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 1) <= 0) return -1;
  unsigned char c;
  if (::read(fd, &c, 1) != 1) return -1;
  return c;
}
int HardwareSerial::peek() {
  if (peeked < 0) peeked = read();
  return peeked;
}
size_t HardwareSerial::write(uint8_t c) { return write(&c, 1); }
size_t HardwareSerial::write(const uint8_t *buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = ::write(fd, buf + done, n - done);
    if (k < 0) {
      if (errno == EINTR) continue;
      break;
    }
    done += k;
  }
  return done;
}
void HardwareSerial::flush() { tcdrain(fd); }

// Serial is the program's console: stdout.
size_t Console::write(uint8_t c) { return fwrite(&c, 1, 1, stdout); }
Console Serial;
const IPAddress INADDR_NONE(0, 0, 0, 0);
