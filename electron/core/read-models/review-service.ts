import { DEFAULT_PAGE_LIMIT } from '../../../shared/domain/page-cursor';
import type { Review } from '../../../shared/domain/review';
import type { ChannelOutput, ParsedChannelInput } from '../../../shared/ipc/contract';
import type { ConsoleClock } from '../clock';
import type { ConnectionTracker } from '../session/connection-tracker';
import type { SessionService } from '../session/session-service';
import type { OfflineFallback } from './offline-fallback';
import { checkedPageSize } from './page-size';

/** Reviews per page of the Reviews screen: the store's default page (GET /v1/reviews). */
export const REVIEW_PAGE = DEFAULT_PAGE_LIMIT;

/** Post-incident reviews: the lists a page at a time (the first page readable offline) and the sign-off (needs the store). */
export class ReviewService {
  constructor(
    private readonly session: SessionService,
    private readonly connection: ConnectionTracker,
    private readonly fallback: OfflineFallback,
    private readonly clock: ConsoleClock,
    private readonly pageSize: number = REVIEW_PAGE,
  ) {
    checkedPageSize('reviewPageSize', pageSize);
  }

  async listReviews(input: ParsedChannelInput<'console:main:list-reviews'>): Promise<ChannelOutput<'console:main:list-reviews'>> {
    const { client } = this.session.current();
    const query = { state: input.state, limit: this.pageSize };
    if (input.cursor !== undefined) {
      // A later page comes from the store only: the local copy is the first page's.
      const page = await this.connection.track(client.call('listReviews', { query: { ...query, cursor: input.cursor } }));
      return { reviews: page.reviews, nextCursor: page.nextCursor, data: { source: 'store', asOf: this.clock.now().toISOString() } };
    }
    const fresh = { nextCursor: null as string | null };
    // The copy kept for offline reading is the first page's reviews, under the key it always had.
    const { value, data } = await this.fallback.read<Review[]>(`reviews:${input.state ?? 'all'}`, () =>
      client.call('listReviews', { query }).then((page) => {
        fresh.nextCursor = page.nextCursor;
        return page.reviews;
      }),
    );
    return { reviews: value, nextCursor: data.source === 'store' ? fresh.nextCursor : null, data };
  }

  async completeReview(input: ParsedChannelInput<'console:main:complete-review'>): Promise<ChannelOutput<'console:main:complete-review'>> {
    const { client } = this.session.current();
    const review = await this.connection.track(client.call('completeReview', { params: { id: input.id }, body: { finding: input.finding, note: input.note } }));
    return { review };
  }
}
