// A page object for the lab's Explorer view, keyed on roles (tree, treeitem), labels and
// data-testid.

export class ExplorerPage {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page;
    this.tree = page.getByRole('tree', { name: 'Topics' });
    this.details = page.getByTestId('topic-details');
    this.status = page.getByTestId('status-explorer');
    this.notice = page.getByTestId('explorer-notice');
    this.chart = page.getByTestId('chart');
  }

  /** Plots `filter` (one series per matching topic), with a JSON path or none. */
  async addSeries(filter, jsonPath = '') {
    const form = this.chart.getByRole('form', { name: 'Add a series' });
    await form.getByLabel('Topic or filter').fill(filter);
    await form.getByLabel('JSON path').fill(jsonPath);
    await form.getByRole('button', { name: 'Add to chart' }).click();
  }

  /** Pixels of the chart's canvas that are neither white nor the grid's greys. */
  async inkedPixels() {
    return this.chart.locator('canvas').evaluate((c) => {
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) inked++;
      }
      return inked;
    });
  }

  async waitConnected(timeout = 15_000) {
    await this.page.locator('[data-testid="status-explorer"][data-state="connected"]').waitFor({ timeout });
  }

  /** The tree's item for `topic` (a topic or a level of one). */
  item(topic) {
    return this.tree.locator(`[role="treeitem"][data-topic="${topic}"]`);
  }

  /** Expands every level down to `topic`'s parent, by clicking, so `topic` shows. */
  async reveal(topic) {
    const levels = topic.split('/');
    for (let i = 1; i < levels.length; i++) {
      const item = this.item(levels.slice(0, i).join('/'));
      await item.waitFor();
      if ((await item.getAttribute('aria-expanded')) !== 'true') await item.locator('.twisty').click();
    }
    await this.item(topic).waitFor();
    return this.item(topic);
  }

  /** Reveals and selects `topic`; its details show. */
  async select(topic) {
    const item = await this.reveal(topic);
    await item.click();
    await this.details.getByTestId('selected-topic').getByText(topic, { exact: true }).waitFor();
    return item;
  }

  /** The number in an item's "N msgs". */
  async count(topic) {
    const text = await this.item(topic).getByTestId('message-count').textContent();
    return Number(text.split(' ')[0]);
  }

  async showAs(format) {
    await this.details.getByLabel('Show as').selectOption(format);
  }
}
