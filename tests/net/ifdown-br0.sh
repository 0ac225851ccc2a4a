#!/bin/sh
# The seeds' ifdown (S16): out of br0, then down.
ip link set "$1" nomaster
ip link set "$1" down
echo "down $1" >> "${KITE_TEST_SCRIPT_LOG:-/dev/null}"
