#ifndef ATBRIDGE_IPADDRESS_H
#define ATBRIDGE_IPADDRESS_H
#include <stdint.h>
#include "Print.h"

// Arduino's IPv4 IPAddress (ours).
class IPAddress : public Printable {
  union {
    uint8_t bytes[4];
    uint32_t dword;
  } _address;

public:
  IPAddress() { _address.dword = 0; }
  IPAddress(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    _address.bytes[0] = a; _address.bytes[1] = b; _address.bytes[2] = c; _address.bytes[3] = d;
  }
  IPAddress(uint32_t a) { _address.dword = a; }
  IPAddress(const uint8_t *a) { for (int i = 0; i < 4; i++) _address.bytes[i] = a[i]; }
  bool fromString(const char *s);
  operator uint32_t() const { return _address.dword; }
  bool operator==(const IPAddress &o) const { return _address.dword == o._address.dword; }
  bool operator==(const uint8_t *a) const { return memcmp(a, _address.bytes, 4) == 0; }
  uint8_t operator[](int i) const { return _address.bytes[i]; }
  uint8_t &operator[](int i) { return _address.bytes[i]; }
  IPAddress &operator=(uint32_t a) { _address.dword = a; return *this; }
  size_t printTo(Print &p) const override;
  uint8_t *raw_address() { return _address.bytes; }
};
extern const IPAddress INADDR_NONE;
#endif
