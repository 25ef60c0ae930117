// Runs the unchanged WiFiEspAT library (vendored in wifiespat/src) against
// an ESP-AT device on a serial path, doing what its examples do
// (CheckFirmware, ScanNetworks, WebClient): WiFi.init, firmwareVersion,
// scanNetworks, begin (join), localIP, hostByName, ping, and a WiFiClient
// round trip to a TCP server. Prints one line per step; exits 0 only when
// every step asked for succeeds.
//
// Usage: wifiespat_run DEVICE SSID PASSWORD HOST PORT STEPS
// STEPS is a comma-separated list of: init,firmware,scan,join,dns,ping,client
#include <WiFiEspAT.h>

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
  printf("ALL OK\n");
  return 0;
}
