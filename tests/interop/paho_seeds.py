"""The seed documents' paho-mqtt usage against `tabmq broker`.

paho-mqtt 1.6.1 from PyPI (the API the seeds use: mqtt.Client(client_id=...), on_connect
with rc), against a `tabmq broker` this script starts on free loopback ports (TCP and
WebSocket) and stops. Each scenario is a behaviour the seeds describe, run over TCP and
over WebSocket, in MQTT 3.1.1 and in MQTT 5. Prints `N passed, M failed`.
"""

import os
import socket
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt

TIMEOUT = 10.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self):
        self.port = free_port()
        if os.environ.get("TABMQ_PAHO_AGAINST_PORT"):
            # For comparison runs against another broker already listening there.
            self.port = int(os.environ["TABMQ_PAHO_AGAINST_PORT"])
            self.proc = None
            return
        self.ws_port = free_port()
        self.proc = subprocess.Popen(
            [os.environ["TABMQ_BIN"], "broker", "-p", str(self.port), "--ws-port", str(self.ws_port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.proc.stdout.readline()  # "tabmq broker listening on ..." (mqtt)
        self.proc.stdout.readline()  # (websockets)

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait(timeout=5)


class Inbox:
    """Collects messages from the paho network thread."""

    def __init__(self):
        self.messages = []
        self.cond = threading.Condition()

    def on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def wait_for(self, n, timeout=TIMEOUT):
        end = time.time() + timeout
        with self.cond:
            while len(self.messages) < n and time.time() < end:
                self.cond.wait(timeout=0.1)
            return list(self.messages)


# Which transport and protocol version the scenarios run with; main() goes through all.
MODE = {"transport": "tcp", "protocol": mqtt.MQTTv311}


def client(broker, client_id, clean_session=True, inbox=None, will=None):
    v5 = MODE["protocol"] == mqtt.MQTTv5
    client_id = f"{client_id}-{MODE['transport']}-{MODE['protocol']}"
    if v5:
        c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5, transport=MODE["transport"])
    else:
        c = mqtt.Client(client_id=client_id, clean_session=clean_session, transport=MODE["transport"])
    connected = threading.Event()
    c.user_data_set({"flags": None})

    def on_connect(cl, userdata, flags, rc, properties=None):
        assert rc == 0, f"connect refused: {rc}"
        userdata["flags"] = flags
        connected.set()

    c.on_connect = on_connect
    if inbox:
        c.on_message = inbox.on_message
    if will:
        c.will_set(*will)
    port = broker.ws_port if MODE["transport"] == "websockets" else broker.port
    if v5:
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes

        props = Properties(PacketTypes.CONNECT)
        if not clean_session:
            props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", port, keepalive=60, clean_start=clean_session, properties=props)
    else:
        c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    assert connected.wait(TIMEOUT), "no CONNACK"
    return c


def subscribe(c, topic, qos):
    done = threading.Event()
    c.on_subscribe = lambda *args: done.set()
    c.subscribe(topic, qos=qos)
    assert done.wait(TIMEOUT), "no SUBACK"


def stop(*clients):
    for c in clients:
        c.disconnect()
        c.loop_stop()


def qos0_sensor_readings_arrive(broker):
    # Seed: a sensor publishing temperature readings at QoS 0.
    inbox = Inbox()
    sub = client(broker, "subscriber_qos0", inbox=inbox)
    subscribe(sub, "sensor/temperature", 0)
    pub = client(broker, "publisher_qos0")
    for i in range(10):
        result = pub.publish("sensor/temperature", f"Temperature: {20 + i}°C", qos=0)
        assert result[0] == 0
    got = inbox.wait_for(10)
    assert [m.payload.decode() for m in got] == [f"Temperature: {20 + i}°C" for i in range(10)]
    assert all(m.qos == 0 for m in got)
    stop(sub, pub)


def qos1_and_qos2_complete_and_qos2_arrives_once(broker):
    inbox = Inbox()
    sub = client(broker, "sub-q2", inbox=inbox)
    subscribe(sub, "orders/#", 2)
    pub = client(broker, "pub-q12")
    infos = [pub.publish(f"orders/{q}", f"order at QoS {q}", qos=q) for q in (1, 2)]
    for info in infos:
        info.wait_for_publish(timeout=TIMEOUT)
        assert info.is_published(), "PUBACK/PUBCOMP came back"
    got = inbox.wait_for(2)
    time.sleep(0.3)
    got = inbox.messages
    assert sorted((m.topic, m.qos) for m in got) == [("orders/1", 1), ("orders/2", 2)], got
    stop(sub, pub)


def effective_qos_is_the_minimum(broker):
    # Seed: "The lower of the two values is used to forward a message."
    results = {}
    for sub_qos in (0, 1, 2):
        inbox = Inbox()
        sub = client(broker, f"sub-eff-{sub_qos}", inbox=inbox)
        subscribe(sub, f"eff/{sub_qos}", sub_qos)
        pub = client(broker, f"pub-eff-{sub_qos}")
        for pub_qos in (0, 1, 2):
            pub.publish(f"eff/{sub_qos}", str(pub_qos), qos=pub_qos).wait_for_publish(timeout=TIMEOUT)
        got = inbox.wait_for(3)
        results[sub_qos] = sorted((int(m.payload), m.qos) for m in got)
        stop(sub, pub)
    for sub_qos, got in results.items():
        assert got == [(p, min(p, sub_qos)) for p in (0, 1, 2)], (sub_qos, got)


def persistent_session_queues_for_offline_subscriber(broker):
    # Seed: clean session off; QoS 1/2 queued while the subscriber is away.
    inbox = Inbox()
    sub = client(broker, "offline-sub", clean_session=False, inbox=inbox)
    subscribe(sub, "alerts/#", 1)
    stop(sub)
    pub = client(broker, "alert-pub")
    for i in range(5):
        pub.publish("alerts/fire", f"alert {i}", qos=1).wait_for_publish(timeout=TIMEOUT)
    pub.publish("alerts/fire", "qos0 is not queued", qos=0)
    # A PUBACK on the same connection means the broker has handled everything before it,
    # so the QoS 0 message surely arrived while the subscriber was away.
    pub.publish("barrier", "", qos=1).wait_for_publish(timeout=TIMEOUT)
    stop(pub)
    inbox2 = Inbox()
    back = client(broker, "offline-sub", clean_session=False, inbox=inbox2)
    flags = back._userdata["flags"]
    assert flags["session present"] == 1, flags
    inbox2.wait_for(5)
    time.sleep(0.3)
    got = [m.payload.decode() for m in inbox2.messages]
    assert got == [f"alert {i}" for i in range(5)], got
    stop(back)


def retained_message_reaches_late_subscribers_and_clears(broker):
    pub = client(broker, "retainer")
    pub.publish("home/door", "open", qos=1, retain=True).wait_for_publish(timeout=TIMEOUT)
    inbox = Inbox()
    late = client(broker, "late", inbox=inbox)
    subscribe(late, "home/#", 1)
    got = inbox.wait_for(1)
    assert got and got[0].payload == b"open" and got[0].retain == 1
    pub.publish("home/door", "", qos=1, retain=True).wait_for_publish(timeout=TIMEOUT)
    inbox2 = Inbox()
    later = client(broker, "later", inbox=inbox2)
    subscribe(later, "home/#", 1)
    time.sleep(0.5)
    assert inbox2.messages == [], "an empty retained message clears the topic"
    stop(pub, late, later)


def will_is_sent_on_abnormal_disconnect_only(broker):
    inbox = Inbox()
    watcher = client(broker, "watcher", inbox=inbox)
    subscribe(watcher, "clients/gone", 1)
    polite = client(broker, "polite", will=("clients/gone", "polite left", 1))
    stop(polite)
    crashed = client(broker, "crashed", will=("clients/gone", "crashed", 1))
    crashed.loop_stop()
    crashed.socket().close()  # gone without DISCONNECT
    got = inbox.wait_for(1)
    time.sleep(0.3)
    assert [m.payload.decode() for m in inbox.messages] == ["crashed"]
    stop(watcher)


SCENARIOS = [
    qos0_sensor_readings_arrive,
    qos1_and_qos2_complete_and_qos2_arrives_once,
    effective_qos_is_the_minimum,
    persistent_session_queues_for_offline_subscriber,
    retained_message_reaches_late_subscribers_and_clears,
    will_is_sent_on_abnormal_disconnect_only,
]


def main():
    passed = failed = 0
    broker = Broker()
    modes = [(t, p) for t in ("tcp", "websockets") for p in (mqtt.MQTTv311, mqtt.MQTTv5)]
    if broker.proc is None:
        modes = [("tcp", mqtt.MQTTv311)]
    try:
        for transport, protocol in modes:
            MODE.update(transport=transport, protocol=protocol)
            tag = f"{transport}, MQTT {'5' if protocol == mqtt.MQTTv5 else '3.1.1'}"
            for scenario in SCENARIOS:
                try:
                    scenario(broker)
                    passed += 1
                    print(f"ok   {scenario.__name__} ({tag})")
                except Exception as e:  # noqa: BLE001 - report every scenario
                    failed += 1
                    print(f"FAIL {scenario.__name__} ({tag}): {e!r}")
    finally:
        broker.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
