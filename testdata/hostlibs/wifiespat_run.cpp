// Runs the unchanged WiFiEspAT library (vendored in wifiespat/src) against
// an ESP-AT device on a serial path, doing what its examples do
// (CheckFirmware, ScanNetworks, WebClient): WiFi.init, firmwareVersion,
// scanNetworks, begin (join), localIP, hostByName, ping, sntp and getTime,
// and a WiFiClient
// round trip to a TCP server, and a WiFiServer (AdvancedWebServer's calls)
// that this program reaches as a remote client over a host socket. Prints
// one line per step; exits 0 only when every step asked for succeeds.
//
// Usage: wifiespat_run DEVICE SSID PASSWORD HOST PORT STEPS
// STEPS is a comma-separated list of: init,firmware,scan,join,dns,ping,time,client,server
// The server step listens on $ESP_SERVER_PORT (default 2323). When nothing
// listens there on the host (a mock replaying a recording), the client's
// bytes come from the recording and only the library's side is checked.
#include <WiFiEspAT.h>

// hostsock.cpp
int host_connect(uint16_t port);
bool host_write(int fd, const char *s, size_t n);
size_t host_read(int fd, char *buf, size_t n, int timeout_ms);
void host_close(int fd);

#include "HardwareSerial.h"

static HardwareSerial Serial1;

static bool want(const char *steps, const char *name) {
  size_t n = strlen(name);
  for (const char *p = steps; (p = strstr(p, name)); p += n)
    if ((p == steps || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return true;
  return false;
}

static void fail(const char *step, const char *why) {
  printf("FAIL %s: %s\n", step, why);
  fflush(stdout);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s DEVICE SSID PASSWORD HOST PORT STEPS\n", argv[0]);
    return 2;
  }
  const char *ssid = argv[2], *pass = argv[3], *host = argv[4], *steps = argv[6];
  uint16_t port = atoi(argv[5]);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (!Serial1.open(argv[1])) fail("open", argv[1]);
  Serial1.begin(115200);

  if (!WiFi.init(Serial1) || WiFi.status() == WL_NO_MODULE) fail("init", "communication with the module failed");
  printf("OK init status %d\n", WiFi.status());
  if (want(steps, "firmware")) {
    char fw[20];
    WiFi.firmwareVersion(fw);
    if (!fw[0]) fail("firmware", "no version");
    printf("OK firmware %s\n", fw);
  }
  if (want(steps, "scan")) {
    int n = WiFi.scanNetworks();
    if (n <= 0) fail("scan", "no networks");
    for (int i = 0; i < n; i++) printf("OK scan %s %d %d\n", WiFi.SSID(i), (int)WiFi.RSSI(i), WiFi.channel(i));
  }
  if (want(steps, "join")) {
    int st = WiFi.begin(ssid, pass);
    if (st != WL_CONNECTED) fail("join", "WiFi.begin did not connect");
    char ip[16];
    IPAddress a = WiFi.localIP();
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    if (a == INADDR_NONE) fail("join", "no local IP");
    printf("OK join %s ip %s\n", WiFi.SSID(), ip);
  }
  if (want(steps, "dns")) {
    IPAddress a;
    if (!WiFi.hostByName("localhost", a)) fail("dns", "hostByName(localhost) failed");
    printf("OK dns localhost %u.%u.%u.%u\n", a[0], a[1], a[2], a[3]);
  }
  if (want(steps, "ping")) {
    if (!WiFi.ping(host)) fail("ping", host);
    printf("OK ping %s\n", host);
  }
  if (want(steps, "time")) {
    if (!WiFi.sntp("pool.ntp.org", "time.nist.gov")) fail("time", "WiFi.sntp failed");
    unsigned long t = 0, start = millis();
    while ((t = WiFi.getTime()) < 1600000000UL && millis() - start < 5000) delay(100);
    if (t < 1600000000UL) fail("time", "getTime never synced");
    printf("OK time synced\n");
  }
  if (want(steps, "client")) {
    WiFiClient client;
    if (!client.connect(host, port)) fail("client", "connect failed");
    client.println("GET /asciilogo.txt HTTP/1.1");
    client.print("Host: ");
    client.println(host);
    client.println();
    client.flush();
    char got[256];
    size_t n = 0;
    unsigned long start = millis();
    got[0] = 0;
    while (!strstr(got, "\r\n\r\n") && millis() - start < 5000) {
      while (client.available() && n < sizeof got - 1) got[n++] = client.read();
      got[n] = 0;
      delay(10);
    }
    client.stop();
    if (!strstr(got, "GET /asciilogo.txt HTTP/1.1\r\nHost: ")) fail("client", "the echo did not come back");
    printf("OK client %zu bytes echoed\n", n);
  }
  if (want(steps, "server")) {
    const char *sp = getenv("ESP_SERVER_PORT");
    uint16_t sport = sp ? atoi(sp) : 2323;
    WiFiServer server(sport);
    server.begin();
    if (!server) fail("server", "WiFiServer.begin failed");
    int fd = host_connect(sport);
    bool remote = fd >= 0;
    if (remote && !host_write(fd, "hello server\n", 13)) fail("server", "the remote client could not write");
    WiFiClient c;
    unsigned long start = millis();
    while (!(c = server.accept()) && millis() - start < 5000) delay(10);
    if (!c) fail("server", "no client arrived");
    // The client wrote at once; give its +IPD the time a sketch's loop()
    // takes, so that a mock replaying this run sees the same commands (an
    // available() before the +IPD would poll AT+CIPRECVLEN? instead).
    delay(50);
    char got[64];
    size_t n = 0;
    got[0] = 0;
    while (!strchr(got, '\n') && millis() - start < 5000) {
      while (c.available() && n < sizeof got - 1) got[n++] = c.read();
      got[n] = 0;
      delay(10);
    }
    if (strcmp(got, "hello server\n")) fail("server", "the client's line did not arrive");
    c.print("hello client\n");
    c.flush();
    if (remote) {
      char back[64];
      back[host_read(fd, back, 13, 5000)] = 0;
      if (strcmp(back, "hello client\n")) fail("server", "the reply did not reach the remote client");
    }
    c.stop();
    server.end();
    host_close(fd);
    printf("OK server port %u%s\n", sport, remote ? " (remote client on the host)" : " (client from the recording)");
  }
  printf("ALL OK\n");
  return 0;
}
