import { AppError } from '../../shared/errors';
import type { ChannelOutput } from '../../shared/ipc/contract';
import type { SessionService } from './session/session-service';

/**
 * Opening links in the system browser: https only, no credentials in the URL, and only on hosts
 * the policy allow-lists (incidentLinkHosts). The URL is parsed with `new URL`, never matched as text.
 */
export class ExternalLinks {
  constructor(
    private readonly session: SessionService,
    /** Electron: shell.openExternal. Absent in the browser host (the renderer opens the checked URL). */
    private readonly open?: (url: string) => Promise<void>,
  ) {}

  async openExternal(raw: string): Promise<ChannelOutput<'console:main:open-external'>> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppError('invalid_input', 'not a URL', { fieldErrors: [{ path: 'url', message: 'must be an absolute https URL' }] });
    }
    const hosts = (await this.session.policyOrUndefined())?.incidentLinkHosts ?? [];
    if (url.protocol !== 'https:') throw new AppError('forbidden', `only https links are opened (got ${url.protocol})`);
    if (url.username || url.password) throw new AppError('forbidden', 'links with credentials are not opened');
    if (!hosts.includes(url.hostname.toLowerCase())) throw new AppError('forbidden', `${url.hostname} is not an allow-listed link host (${hosts.join(', ') || 'none configured'})`);
    if (this.open) {
      await this.open(url.href);
      return { opened: true, url: url.href };
    }
    return { opened: false, url: url.href };
  }
}
