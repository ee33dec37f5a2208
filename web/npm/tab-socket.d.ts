/** A WebSocket-compatible connection to the in-tab broker, for MQTT.js's
 *  `createWebsocket` option. */
export class TabSocket extends EventTarget {
  constructor(url: string, options?: { workerUrl?: string; makeWorker?: (shared: boolean, name: string) => Worker | SharedWorker });
  readonly url: string;
  readonly protocol: 'mqtt';
  binaryType: 'arraybuffer';
  readyState: 0 | 1 | 2 | 3;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent<ArrayBuffer>) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

export function tabSocket(url: string, options?: { workerUrl?: string; makeWorker?: (shared: boolean, name: string) => Worker | SharedWorker }): TabSocket;

/** Starts (once per page) or joins the broker `url` names; its control target. */
export function tabBroker(url: string, makeWorker: (shared: boolean, name: string) => Worker | SharedWorker): Promise<Worker | MessagePort>;
