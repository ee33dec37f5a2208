// Types for tabmq: MQTT.js's client API (payloads are Uint8Array, not Buffer), plus the
// broker in a tab.

export type QoS = 0 | 1 | 2;

export interface UserProperties {
  [name: string]: string | string[];
}

/** MQTT 5 properties, named as mqtt-packet names them. */
export interface Properties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  subscriptionIdentifier?: number | number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
  requestProblemInformation?: boolean;
  willDelayInterval?: number;
  requestResponseInformation?: boolean;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: 0 | 1;
  retainAvailable?: boolean;
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: boolean;
  subscriptionIdentifiersAvailable?: boolean;
  sharedSubscriptionAvailable?: boolean;
  userProperties?: UserProperties;
}

export interface Will {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

export interface IClientOptions {
  /** 4 (MQTT 3.1.1, the default) or 5. */
  protocolVersion?: 3 | 4 | 5;
  /** Default: `tabmq_` and 8 random hex digits. */
  clientId?: string;
  /** Default true. */
  clean?: boolean;
  /** Seconds; default 60. */
  keepalive?: number;
  username?: string;
  password?: string | Uint8Array;
  will?: Will;
  /** CONNECT properties (MQTT 5). */
  properties?: Properties;
  /** Milliseconds before the first reconnect (default 1000); later ones back off with
   *  jitter up to `reconnectPeriodMax`. 0 turns reconnecting off. */
  reconnectPeriod?: number;
  /** tabmq: the longest wait between reconnects, default 60000. */
  reconnectPeriodMax?: number;
  /** Milliseconds to wait for CONNACK; default 30000. */
  connectTimeout?: number;
  /** Subscribe again when a reconnect finds the session gone; default true. */
  resubscribe?: boolean;
  /** Queue QoS 0 messages while disconnected; default true. */
  queueQoSZero?: boolean;
  /** tabmq: keep the session (in-flight and queued QoS 1/2) in IndexedDB across reloads. */
  persist?: 'indexeddb';
  /** tabmq: QoS 1/2 messages in flight at once; default 20. */
  maxInflight?: number;
  protocol?: 'ws' | 'wss' | 'mqtt' | 'mqtts' | 'tab';
  host?: string;
  hostname?: string;
  port?: number;
  path?: string;
}

export interface IClientPublishOptions {
  qos?: QoS;
  retain?: boolean;
  dup?: boolean;
  properties?: Properties;
}

export interface IClientSubscribeOptions {
  qos: QoS;
  /** MQTT 5: No Local. */
  nl?: boolean;
  /** MQTT 5: Retain As Published. */
  rap?: boolean;
  /** MQTT 5: Retain Handling. */
  rh?: 0 | 1 | 2;
  properties?: Properties;
}

export interface ISubscriptionGrant {
  topic: string;
  /** The granted QoS, or a failure reason code (128 and up). */
  qos: number;
  nl?: boolean;
  rap?: boolean;
  rh?: number;
}

/** A packet in mqtt-packet's shape. */
export interface Packet {
  cmd:
    | 'connect' | 'connack' | 'publish' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'
    | 'subscribe' | 'suback' | 'unsubscribe' | 'unsuback' | 'pingreq' | 'pingresp'
    | 'disconnect' | 'auth';
  messageId?: number;
  [field: string]: unknown;
}

export interface IPublishPacket extends Packet {
  cmd: 'publish';
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  properties?: Properties;
}

/** An error with a stable `code`: a string such as `NOT_CONNECTED`, `QUEUE_FULL`,
 *  `INVALID_TOPIC`, `CONNECT_REFUSED`, `CONNECT_FAILED`, or, as in MQTT.js, a broker's
 *  reason code number for a refused SUBSCRIBE or PUBLISH. */
export interface TabmqError extends Error {
  code: string | number;
}

export interface MqttClientEventMap {
  connect: [connack: Packet];
  reconnect: [];
  close: [];
  disconnect: [packet: Packet];
  offline: [];
  error: [error: TabmqError];
  end: [];
  message: [topic: string, payload: Uint8Array, packet: IPublishPacket];
  packetsend: [packet: Packet];
  packetreceive: [packet: Packet];
}

type Listener<K extends keyof MqttClientEventMap> = (...args: MqttClientEventMap[K]) => void;

export class MqttClient {
  readonly options: IClientOptions & { clientId: string; href: string };
  connected: boolean;
  reconnecting: boolean;
  disconnecting: boolean;
  disconnected: boolean;

  on<K extends keyof MqttClientEventMap>(event: K, listener: Listener<K>): this;
  addListener<K extends keyof MqttClientEventMap>(event: K, listener: Listener<K>): this;
  once<K extends keyof MqttClientEventMap>(event: K, listener: Listener<K>): this;
  off<K extends keyof MqttClientEventMap>(event: K, listener: Listener<K>): this;
  removeListener<K extends keyof MqttClientEventMap>(event: K, listener: Listener<K>): this;
  removeAllListeners(event?: keyof MqttClientEventMap): this;
  listenerCount(event: keyof MqttClientEventMap): number;
  emit<K extends keyof MqttClientEventMap>(event: K, ...args: MqttClientEventMap[K]): boolean;

  publish(topic: string, message: string | Uint8Array, callback?: (err?: TabmqError, packet?: Packet) => void): this;
  publish(
    topic: string,
    message: string | Uint8Array,
    opts?: IClientPublishOptions,
    callback?: (err?: TabmqError, packet?: Packet) => void,
  ): this;
  publishAsync(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions): Promise<Packet | undefined>;

  subscribe(
    topic: string | string[] | Record<string, IClientSubscribeOptions>,
    opts?: Partial<IClientSubscribeOptions> | ((err: TabmqError | null, granted?: ISubscriptionGrant[]) => void),
    callback?: (err: TabmqError | null, granted?: ISubscriptionGrant[]) => void,
  ): this;
  subscribeAsync(
    topic: string | string[] | Record<string, IClientSubscribeOptions>,
    opts?: Partial<IClientSubscribeOptions>,
  ): Promise<ISubscriptionGrant[]>;

  unsubscribe(topic: string | string[], opts?: object | ((err?: TabmqError | null) => void), callback?: (err?: TabmqError | null) => void): this;
  unsubscribeAsync(topic: string | string[], opts?: object): Promise<Packet>;

  end(force?: boolean, opts?: object, callback?: () => void): this;
  end(callback: () => void): this;
  endAsync(force?: boolean, opts?: object): Promise<void>;
  reconnect(): this;
}

export function connect(url: string, options?: IClientOptions): MqttClient;
export function connect(options: IClientOptions): MqttClient;
export function connectAsync(url: string, options?: IClientOptions): Promise<MqttClient>;

/** Loads the MQTT 3.1.1 client wasm from `wasm` (a URL or a compiled module) instead of
 *  beside this file; `wasm5` is where the MQTT 5 build is, which the first
 *  `protocolVersion: 5` connection loads. */
export function init(
  wasm?: string | URL | WebAssembly.Module,
  wasm5?: string | URL | WebAssembly.Module,
): Promise<void>;

export interface BrokerSession {
  clientId: string;
  connected: boolean;
  protocolVersion: 4 | 5;
  subscriptions: { topic: string; qos: QoS }[];
  inFlight: number;
  queued: number;
  /** Milliseconds an offline session has left; null while connected or never expiring. */
  expiresInMs: number | null;
}

export interface BrokerView {
  sessions: BrokerSession[];
  retained: { topic: string; qos: QoS; payload: Uint8Array }[];
  counters: {
    connections: number;
    messagesReceived: number;
    messagesSent: number;
    publishReceived: number;
    publishSent: number;
    publishDropped: number;
    bytesReceived: number;
    bytesSent: number;
  };
}

export class Broker {
  readonly url: string;
  /** Whether this is the origin's SharedWorker broker. */
  readonly shared: boolean;
  inspect(): Promise<BrokerView>;
  deleteRetained(topic: string): Promise<boolean>;
  stop(): void;
}

export function startBroker(options?: { name?: string; shared?: boolean; persist?: 'indexeddb' }): Promise<Broker>;

export { TabSocket, tabSocket } from './tab-socket.js';

declare const _default: {
  connect: typeof connect;
  connectAsync: typeof connectAsync;
  MqttClient: typeof MqttClient;
  startBroker: typeof startBroker;
  tabSocket: typeof import('./tab-socket.js').tabSocket;
  init: typeof init;
};
export default _default;
