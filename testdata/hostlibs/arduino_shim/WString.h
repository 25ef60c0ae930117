#ifndef ATBRIDGE_WSTRING_H
#define ATBRIDGE_WSTRING_H
#include <string>
// Arduino's String, as far as WiFiEspAT returns one (ours).
class String {
  std::string s;

public:
  String(const char *c = "") : s(c ? c : "") {}
  const char *c_str() const { return s.c_str(); }
  unsigned length() const { return s.size(); }
  bool operator==(const char *c) const { return s == c; }
};
#endif
