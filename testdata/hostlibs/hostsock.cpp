// A TCP client on the host for wifiespat_run's server step: the "remote"
// peer that connects to the emulated board's server. Kept apart from
// wifiespat_run.cpp because <netinet/in.h> defines INADDR_NONE as a macro,
// which clashes with the Arduino core's IPAddress constant of that name.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

// host_connect connects to 127.0.0.1:port; it returns -1 when nothing
// listens there.
int host_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool host_write(int fd, const char *s, size_t n) { return write(fd, s, n) == (ssize_t)n; }

// host_read reads until n bytes arrived or timeout_ms passed without data.
size_t host_read(int fd, char *buf, size_t n, int timeout_ms) {
  size_t m = 0;
  pollfd p{fd, POLLIN, 0};
  while (m < n && poll(&p, 1, timeout_ms) > 0) {
    ssize_t r = read(fd, buf + m, n - m);
    if (r <= 0) break;
    m += r;
  }
  return m;
}

void host_close(int fd) {
  if (fd >= 0) close(fd);
}
