/**
 * Placeholder for the admin view (a later issue builds it). Mounted by app.js into #admin-view when the
 * user's role allows; receives the same `ctx` as the customer views.
 * @module views/admin
 */
import { h } from '../dom.js';

export function mount(ctx, section) {
  section.append(h('div', { class: 'card' }, h('p', { class: 'muted' }, 'This console is not available yet.')));
}
