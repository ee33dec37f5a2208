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
    this.activeFilter = this.subscriber.getByTestId('active-filter');
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

  /** Subscribes to `filter` and waits until the card shows the new subscription. */
  async subscribeTo(filter, qos = '0') {
    await this.filter.fill(filter);
    await this.subscriptionQos.selectOption(qos);
    await this.subscribeButton.click();
    await this.activeFilter
      .getByText(`${filter} (QoS ${qos})`, { exact: true })
      .waitFor();
  }

  /** The message in the log whose payload is exactly `payload`. */
  message(payload) {
    return this.messages.filter({
      has: this.page.getByTestId('message-payload').getByText(payload, { exact: true }),
    });
  }
}
