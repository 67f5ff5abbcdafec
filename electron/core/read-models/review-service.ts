import type { Review } from '../../../shared/domain/review';
import type { ChannelOutput, ParsedChannelInput } from '../../../shared/ipc/contract';
import type { ConnectionTracker } from '../session/connection-tracker';
import type { SessionService } from '../session/session-service';
import type { OfflineFallback } from './offline-fallback';

/** Post-incident reviews: the lists (readable offline) and the sign-off (needs the store). */
export class ReviewService {
  constructor(
    private readonly session: SessionService,
    private readonly connection: ConnectionTracker,
    private readonly fallback: OfflineFallback,
  ) {}

  async listReviews(input: ParsedChannelInput<'console:main:list-reviews'>): Promise<ChannelOutput<'console:main:list-reviews'>> {
    const { client } = this.session.current();
    const { value, data } = await this.fallback.read<Review[]>(`reviews:${input.state ?? 'all'}`, () => client.call('listReviews', { query: { state: input.state } }).then((r) => r.reviews));
    return { reviews: value, data };
  }

  async completeReview(input: ParsedChannelInput<'console:main:complete-review'>): Promise<ChannelOutput<'console:main:complete-review'>> {
    const { client } = this.session.current();
    const review = await this.connection.track(client.call('completeReview', { params: { id: input.id }, body: { finding: input.finding, note: input.note } }));
    return { review };
  }
}
