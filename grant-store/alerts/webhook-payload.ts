import type { Webhook } from '../../shared/domain/policy';
import type { AlertEvent } from './alert-events';

/** Slack mrkdwn treats & < > as control characters. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack caps a section's text at 3000 characters. */
const SLACK_SECTION_MAX = 3000;

/**
 * The body sent to a webhook: generic JSON (the event with its facts) or a Slack-compatible
 * message ({ text, blocks }, accepted by Slack incoming webhooks and Mattermost/Rocket.Chat).
 */
export function renderWebhookBody(format: Webhook['format'], event: AlertEvent, deliveryId: string): string {
  if (format === 'slack') {
    const text = slackEscape(`${event.title}: ${event.text}`);
    return JSON.stringify({
      text,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: event.title.slice(0, 150) } },
        { type: 'section', text: { type: 'mrkdwn', text: slackEscape(event.text).slice(0, SLACK_SECTION_MAX) } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(`breakglass ${event.event} · ${event.subject} · ${event.occurredAt} · delivery ${deliveryId}`) }] },
      ],
    });
  }
  return JSON.stringify({ id: deliveryId, event: event.event, subject: event.subject, gate: event.gate, occurredAt: event.occurredAt, title: event.title, text: event.text, data: event.data });
}
