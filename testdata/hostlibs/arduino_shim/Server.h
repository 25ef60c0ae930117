#ifndef ATBRIDGE_SERVER_H
#define ATBRIDGE_SERVER_H
#include "Print.h"
class Server : public Print {
public:
  virtual void begin() = 0;
};
#endif
