import type { ScreenRoute } from '../../app/screen-route';
import { useChannel } from '../../bridge/queries';
import { ReviewsScreen } from './reviews-screen';

function useReviewsBadge() {
  const reviews = useChannel('console:main:list-reviews', { state: 'review_open' }, { refetchInterval: 60_000 });
  return { count: reviews.data?.reviews.length ?? 0 };
}

export const route: ScreenRoute = { id: 'reviews', label: 'Reviews', order: 30, nav: true, component: ReviewsScreen, useBadge: useReviewsBadge };
