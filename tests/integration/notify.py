#!/usr/bin/env python3
"""notify.py SOCKET OUTFILE — a stand-in for systemd's notification socket: receives sd_notify
datagrams and appends each (one per line, newlines inside as '|') to OUTFILE until killed."""
import os, socket, sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        f.write(msg.replace("\n", "|") + "\n")
