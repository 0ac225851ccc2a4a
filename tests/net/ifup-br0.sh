#!/bin/sh
# The seeds' ifup (S16) with ip(8) instead of brctl: up, then into br0.
# Records its run so the test can see it was called with the name as $1.
ip link set "$1" up
ip link set "$1" master br0
echo "up $1" >> "${KITE_TEST_SCRIPT_LOG:-/dev/null}"
