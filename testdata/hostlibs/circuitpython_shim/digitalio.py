"""digitalio for CPython: pins that hold a value and drive nothing (a pty has
no reset or RTS line the library could toggle). Ours, not CircuitPython's."""


class Direction:
    INPUT = "input"
    OUTPUT = "output"


class DigitalInOut:
    def __init__(self, pin=None):
        self.pin = pin
        self.direction = Direction.INPUT
        self.value = False
