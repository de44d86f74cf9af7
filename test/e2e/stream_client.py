#!/usr/bin/env python3
"""A client for the test Kong's stream listeners (test/fakes/kong/README.md "Stream").

  stream_client.py tcp HOST PORT [--send LINE]
  stream_client.py tls HOST PORT [--sni NAME] [--send LINE]
  stream_client.py udp HOST PORT [--send DATA]
  options: --count N (N connections, one answer line each), --timeout S (default 5)

Prints the answer (one JSON object per line); TLS adds "peer_cn", the CN of the certificate the
server presented (no verification); --send also checks the echo and adds "echoed": true|false.
A TCP connection is closed only once the server closed its end. With --count, each connection
that got no answer is named on stderr. Exit status: 0 every connection was answered, 3 one was
closed (UDP: no reply) without an answer, 4 a timeout, 2 usage. Standard library only.
"""
import argparse
import json
import socket
import ssl
import sys


def peer_cn(sock):
    der = sock.getpeercert(binary_form=True)
    if not der:
        return None
    # no verification, so getpeercert() gives no parsed fields: find the last commonName
    # (OID 2.5.4.3) in the DER; the subject follows the issuer
    oid = b"\x06\x03\x55\x04\x03"
    i = der.rfind(oid)
    if i < 0:
        return None
    j = i + len(oid)
    n = der[j + 1]
    return der[j + 2:j + 2 + n].decode("utf-8", "replace")


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            chunk = sock.recv(65536)
        except ssl.SSLError:
            chunk = b""
        if not chunk:
            return buf or None
        buf += chunk
    return buf


def one(args):
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    if args.proto == "udp":
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(args.timeout)
        s.sendto((args.send or "ping").encode(), (args.host, args.port))
        try:
            data, _ = s.recvfrom(65536)
        except socket.timeout:
            return 3, None
        finally:
            s.close()
        return 0, json.loads(data)
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    try:
        if args.proto == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                s = ctx.wrap_socket(s, server_hostname=args.sni or None)
            except (ssl.SSLError, ConnectionError, OSError) as e:
                if isinstance(e, socket.timeout):
                    raise
                return 3, None
        line = read_line(s)
        if not line or not line.endswith(b"\n"):
            return 3, None
        ans = json.loads(line)
        if args.proto == "tls":
            ans["peer_cn"] = peer_cn(s)
        if args.send is not None:
            s.sendall(args.send.encode() + b"\n")
            ans["echoed"] = read_line(s) == args.send.encode() + b"\n"
        if args.proto == "tcp":
            # our end first, then wait for the server's: only then is its connection gone, so a
            # next connection never finds the previous one still counted (--stream-max-conns)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
        return 0, ans
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("proto", choices=["tcp", "tls", "udp"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--sni")
    p.add_argument("--send")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=5)
    args = p.parse_args()
    worst = 0
    for i in range(args.count):
        why = "closed without an answer"
        try:
            rc, ans = one(args)
        except socket.timeout:
            rc, ans, why = 4, None, "timed out"
        except (ConnectionError, OSError) as e:
            rc, ans, why = 3, None, repr(e)
        if ans is not None:
            print(json.dumps(ans), flush=True)
        elif args.count > 1:  # which of several failed, and how (the checks count the answers)
            print(f"connection {i + 1} of {args.count}: {why}", file=sys.stderr, flush=True)
        worst = max(worst, rc)
    return worst


if __name__ == "__main__":
    sys.exit(main())
