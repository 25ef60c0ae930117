#ifndef ATBRIDGE_ITOA_H
#define ATBRIDGE_ITOA_H
// itoa and friends as avr-libc has them (ours).
char *itoa(int value, char *s, int radix);
char *utoa(unsigned value, char *s, int radix);
char *ltoa(long value, char *s, int radix);
char *ultoa(unsigned long value, char *s, int radix);
#endif
