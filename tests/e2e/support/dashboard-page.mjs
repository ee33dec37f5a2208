// A page object for the lab's Dashboard view, keyed on roles, labels and data-testid.

export class DashboardPage {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page;
    this.board = page.getByTestId('board');
    this.widgets = this.board.getByTestId('widget');
    this.form = page.getByRole('form', { name: 'Add a widget' });
    this.notice = page.getByTestId('dashboard-notice');
  }

  async waitConnected(timeout = 15_000) {
    await this.page.locator('[data-testid="status-dashboard"][data-state="connected"]').waitFor({ timeout });
  }

  /** Adds a widget through the form: `kind` is its name in the Kind list. */
  async add({ kind, title = '', filter = '', path = '', unit = '', min = '0', max = '100', topic = '', payload = '', off = '', qos = '0', retain = false }) {
    await this.form.getByLabel('Kind').selectOption(kind);
    for (const [label, value] of [['Title', title], ['Topic or filter', filter], ['JSON path', path], ['Unit', unit], ['Min', min], ['Max', max]]) {
      await this.form.getByLabel(label, { exact: true }).fill(value);
    }
    if (['Switch', 'Button', 'Slider'].includes(kind)) {
      await this.form.getByLabel('Publish topic').fill(topic);
      await this.form.getByLabel('Payload (on)').fill(payload);
      await this.form.getByLabel('Payload (off)').fill(off);
      await this.form.getByLabel('Publish QoS').selectOption(qos);
      await this.form.getByLabel('Retain').setChecked(retain);
    }
    const before = await this.widgets.count();
    await this.form.getByRole('button', { name: 'Add widget' }).click();
    await this.page.waitForFunction((n) => document.querySelectorAll('[data-testid="widget"]').length === n, before + 1, { timeout: 5_000 });
  }

  widget(title) {
    return this.board.getByRole('article', { name: title, exact: true });
  }

  async titles() {
    return this.widgets.evaluateAll((ws) => ws.map((w) => w.getAttribute('aria-label')));
  }
}
