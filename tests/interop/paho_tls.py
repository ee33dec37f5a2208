"""paho-mqtt 1.6.1 over TLS against `tabmq broker`.

Makes a throwaway CA, server and client certificate with Debian's openssl, starts a
`tabmq broker` (TABMQ_BIN) with TLS listeners on free loopback ports, and checks with
paho: a round trip over TLS on TCP and on WebSocket (wss), a client certificate required
and checked, and a server certificate from an untrusted CA refused. Prints
`N passed, M failed`.
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

TIMEOUT = 10.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates():
    d = tempfile.mkdtemp(prefix="tabmq-paho-tls-")
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", "2", "-subj", "/CN=paho test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, subject, ext in [
        ("server", "/CN=localhost",
         "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        ("client", "/CN=paho-client", "extendedKeyUsage=clientAuth\n"),
    ]:
        openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", subject)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext)
        openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                "-extfile", f"{name}.ext")
    return {k: os.path.join(d, f) for k, f in [
        ("ca", "ca.crt"), ("cert", "server.crt"), ("key", "server.key"),
        ("client_cert", "client.crt"), ("client_key", "client.key"), ("dir", "")]}


class Broker:
    """tabmq broker with a TLS TCP listener, a wss listener and a TLS listener that
    requires a client certificate."""

    def __init__(self, certs):
        self.tls, self.wss, self.mutual = free_port(), free_port(), free_port()
        conf = os.path.join(certs["dir"], "tabmq.conf")
        common = f"cafile {certs['ca']}\ncertfile {certs['cert']}\nkeyfile {certs['key']}\n"
        with open(conf, "w") as f:
            f.write(f"listener {self.tls} 127.0.0.1\nallow_anonymous true\n{common}")
            f.write(f"listener {self.wss} 127.0.0.1\nprotocol websockets\n{common}")
            f.write(f"listener {self.mutual} 127.0.0.1\nrequire_certificate true\n{common}")
        self.proc = subprocess.Popen([os.environ["TABMQ_BIN"], "broker", "-c", conf],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in range(3):
            self.proc.stdout.readline()  # "tabmq broker listening on ..."

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


def client(port, certs, transport="tcp", client_cert=False, ca=None):
    c = mqtt.Client(client_id=f"paho-{port}-{time.monotonic_ns()}", transport=transport)
    kwargs = {"ca_certs": ca or certs["ca"], "tls_version": ssl.PROTOCOL_TLS_CLIENT}
    if client_cert:
        kwargs.update(certfile=certs["client_cert"], keyfile=certs["client_key"])
    c.tls_set(**kwargs)
    result = {"rc": None, "messages": []}
    done = threading.Event()

    def on_connect(cl, userdata, flags, rc):
        result["rc"] = rc
        done.set()

    c.on_connect = on_connect
    c.on_message = lambda cl, u, msg: result["messages"].append(msg.payload.decode())
    try:
        c.connect("localhost", port, keepalive=30)
    except (ssl.SSLError, OSError) as e:
        result["rc"] = f"refused: {e.__class__.__name__}"
        return c, result
    c.loop_start()
    done.wait(TIMEOUT)
    return c, result


def round_trip(port, certs, transport="tcp", client_cert=False):
    c, r = client(port, certs, transport, client_cert)
    assert r["rc"] == 0, f"CONNACK {r['rc']}"
    c.subscribe("tls/echo", qos=1)
    time.sleep(0.3)
    info = c.publish("tls/echo", "over TLS", qos=1)
    info.wait_for_publish(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while not r["messages"] and time.monotonic() < deadline:
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    assert r["messages"] == ["over TLS"], r["messages"]


def quiet_tls_refusals(args):
    # With TLS 1.3 a refused client certificate is reported after the handshake, on
    # paho's network thread; the case checks the outcome, not that thread's traceback.
    if not issubclass(args.exc_type, (ssl.SSLError, OSError)):
        sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)


threading.excepthook = quiet_tls_refusals


def refused(port, certs, client_cert=False, ca=None):
    c, r = client(port, certs, client_cert=client_cert, ca=ca)
    c.loop_stop()
    assert r["rc"] != 0, f"expected a refusal, got CONNACK {r['rc']}"


def main():
    certs = make_certificates()
    other = make_certificates()
    broker = Broker(certs)
    cases = [
        ("round trip over TLS (TCP)", lambda: round_trip(broker.tls, certs)),
        ("round trip over wss (WebSocket)", lambda: round_trip(broker.wss, certs, "websockets")),
        ("require_certificate: with a client certificate",
         lambda: round_trip(broker.mutual, certs, client_cert=True)),
        ("require_certificate: without one, refused", lambda: refused(broker.mutual, certs)),
        ("a server certificate from an untrusted CA is refused",
         lambda: refused(broker.tls, certs, ca=other["ca"])),
    ]
    passed = failed = 0
    try:
        for name, case in cases:
            try:
                case()
                print(f"ok   {name}")
                passed += 1
            except Exception as e:  # a failed case is reported, then the next runs
                print(f"FAIL {name}: {e}")
                failed += 1
    finally:
        broker.stop()
        for made in (certs, other):
            shutil.rmtree(os.path.dirname(made["ca"]), ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
