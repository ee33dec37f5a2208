// A page object for the tabmq lab, keyed on roles, labels and data-testid.

export class LabPage {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page;
    this.publisher = page.getByTestId('publisher');
    this.subscriber = page.getByTestId('subscriber');
    this.topic = this.publisher.getByLabel('Topic');
    this.payload = this.publisher.getByLabel('Payload');
    this.qos = this.publisher.getByLabel('QoS');
    this.publishButton = this.publisher.getByRole('button', { name: 'Publish' });
    this.filter = this.subscriber.getByLabel('Filter');
    this.subscriptionQos = this.subscriber.getByLabel('QoS');
    this.subscribeButton = this.subscriber.getByRole('button', { name: 'Subscribe' });
    // What SUBACK confirmed (or that one is awaited), and the last refusal.
    this.subscription = this.subscriber.getByTestId('subscription-status');
    this.refusal = this.subscriber.getByTestId('subscription-refusal');
    this.log = this.subscriber.getByRole('log');
    this.messages = this.log.getByTestId('message');
  }

  status(who) {
    return this.page.getByTestId(`status-${who}`);
  }

  /** Waits until the broker and both clients say they are connected. */
  async waitUntilConnected(timeout = 30_000) {
    for (const who of ['broker', 'publisher', 'subscriber']) {
      await this.page
        .locator(`[data-testid="status-${who}"][data-state="connected"]`)
        .waitFor({ timeout });
    }
  }

  async publish(topic, payload, qos = '0') {
    await this.topic.fill(topic);
    await this.payload.fill(payload);
    await this.qos.selectOption(qos);
    await this.publishButton.click();
  }

  /** Subscribes to `filter` and waits until the card shows SUBACK's grant. */
  async subscribeTo(filter, qos = '0') {
    await this.filter.fill(filter);
    await this.subscriptionQos.selectOption(qos);
    await this.subscribeButton.click();
    await this.subscription
      .getByText(`Subscribed to ${filter} (granted QoS ${qos})`, { exact: true })
      .waitFor();
  }

  /** The message in the log whose payload is exactly `payload`. */
  message(payload) {
    return this.messages.filter({
      has: this.page.getByTestId('message-payload').getByText(payload, { exact: true }),
    });
  }
}

/** The lab's other panels: clients, faults, handshakes, the inspector, the benchmark. */
export class LabPanels {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page;
    this.clients = page.getByTestId('connections');
    this.faults = page.getByTestId('faults');
    this.handshakes = page.getByTestId('handshakes');
    this.inspector = page.getByTestId('inspector');
    this.bench = page.getByTestId('bench');
  }

  /** The connection form of client `name`, unfolded. */
  async connection(name) {
    const form = this.page.getByTestId(`connection-${name}`);
    if (!(await form.evaluate((d) => d.open))) await form.locator('summary').click();
    return form;
  }

  card(name) {
    return this.page.getByTestId(name);
  }

  /** Arms a fault on `client`'s next `count` packets of type `packet`: `action` is the
   *  button, "Drop next" or "Duplicate next". */
  async armFault(client, packet, action = 'Drop next', count = '1') {
    await this.faults.getByLabel('Client').selectOption(client);
    await this.faults.getByLabel('Packet').selectOption(packet);
    await this.faults.getByLabel('How many').fill(count);
    await this.faults.getByRole('button', { name: action }).click();
  }

  status(name) {
    return this.page.getByTestId(`status-${name}`);
  }

  async waitConnected(name, timeout = 15_000) {
    await this.page.locator(`[data-testid="status-${name}"][data-state="connected"]`).waitFor({ timeout });
  }

  /** Messages in subscriber card `name` whose payload is exactly `payload`. */
  messages(name, payload) {
    return this.card(name).getByRole('log').getByTestId('message').filter({
      has: this.page.getByTestId('message-payload').getByText(payload, { exact: true }),
    });
  }

  /** The newest flow of the handshake view whose topic is `topic`. */
  flow(topic) {
    return this.handshakes.locator(`[data-testid="flow"][data-topic="${topic}"]`).first();
  }

  /** `side packet direction` of each step of `flow`, in order. */
  async steps(flow) {
    return flow.getByTestId('step').evaluateAll((steps) =>
      steps.map((s) => `${s.dataset.side} ${s.dataset.packet} ${s.dataset.direction}${s.dataset.fault ? ` ${s.dataset.fault}` : ''}`));
  }
}
