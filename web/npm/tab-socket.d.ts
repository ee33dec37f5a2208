/** A WebSocket-compatible connection to the in-tab broker, for MQTT.js's
 *  `createWebsocket` option. */
export class TabSocket extends EventTarget {
  constructor(url: string, options?: { workerUrl?: string; openPort?: (url: string) => Promise<MessagePort> });
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

export function tabSocket(url: string, options?: { workerUrl?: string }): TabSocket;
