import type { ScreenRoute } from '../../app/screen-route';
import { useSession } from '../../app/use-session';
import { useChannel } from '../../bridge/queries';
import { ReviewsScreen } from './reviews-screen';

/** Open reviews (N+ past the first page); urgent (red) when one is assigned to me. */
function useReviewsBadge() {
  const reviews = useChannel('console:main:list-reviews', { state: 'review_open' }, { refetchInterval: 60_000 });
  const me = useSession().data?.principal;
  const list = reviews.data?.reviews ?? [];
  // The first page's count; more follow when it names a next page.
  return { count: list.length, more: Boolean(reviews.data?.nextCursor), urgent: list.some((r) => me && r.assignedTo?.includes(me)) };
}

export const route: ScreenRoute = { id: 'reviews', label: 'Reviews', order: 30, nav: true, icon: 'reviews', component: ReviewsScreen, useBadge: useReviewsBadge };
